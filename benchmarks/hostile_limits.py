"""Hostile input and hostile servers, before and after the limits of issue 27, side by side in one
run: seconds the web page is frozen by a PDF bomb upload and by a 5 MB .bib, seconds until
`review` ends against a server that trickles a byte every 2 s or streams only `: ping` (with
`--engine-opt timeout=20`), seconds from Ctrl-C (a real SIGINT) to exit, and bytes stored for a
50 MB reply and a 2 MB reply of one character.

    git archive <old commit> src | tar -x -C /tmp/before
    PYTHONPATH=src python benchmarks/hostile_limits.py --before /tmp/before/src [--cap 120]

Each scenario runs the CLI or `serve` as a child process with PYTHONPATH set to one source tree;
the hostile server runs here on 127.0.0.1 (tests/support/hostile_server.py). A scenario that does
not end within --cap seconds is stopped and reported as ">= cap".
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))
from _common import machine, write  # noqa: E402

from support.hostile_server import HostileServer, completion_body, huge, pings, send_json, trickle  # noqa: E402
from support.pdf_bomb import bomb_pdf  # noqa: E402

REVIEW = (ROOT / "tests" / "data" / "web" / "review.txt").read_text()
PAPER = "# A paper about WORD\n\nWe study WORD things carefully and report what we found.\n"


def env_for(src: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT / 'tests'}", "COLUMNS": "250"}


def cli(src: str, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cycleresearcher", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(src),
        start_new_session=True,
        # a shell's background job ignores SIGINT and its children inherit that: Ctrl-C must reach it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def finish(proc: subprocess.Popen, cap: float) -> tuple[float | None, str]:
    """Seconds until ``proc`` exits (None past ``cap``: then it is killed) and its stderr."""
    start = time.monotonic()
    try:
        _, err = proc.communicate(timeout=cap)
        return time.monotonic() - start, " ".join(err.split())
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        return None, " ".join(err.split())


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def slow_server(answer_slow):  # type: ignore[no-untyped-def]
    state = {"fast": 0.0}

    def answer(handler, body):  # type: ignore[no-untyped-def]
        if "FAST" not in json.dumps(body):
            return answer_slow(handler, body)
        send_json(handler, completion_body(REVIEW))
        state["fast"] = time.monotonic()

    return HostileServer(answer), state


def review_until_deadline(src: str, tmp: Path, kind: str, cap: float) -> dict:
    paper = tmp / "slow.md"
    paper.write_text(PAPER.replace("WORD", "SLOW"))
    server, _ = slow_server(trickle(2.0) if kind == "trickle" else pings(1.0))
    with server:
        proc = cli(src, ["review", str(paper), "--base-url", server.url, "--engine-opt", "timeout=20"]
                   + ["--engine-opt", "stream=false" if kind == "trickle" else "stream=true", "-o", str(tmp / kind)])  # fmt: skip
        took, err = finish(proc, cap)
    return {"seconds_to_end": took, "exit": proc.returncode, "said": err[-300:]}


def ctrl_c(src: str, tmp: Path, cap: float) -> dict:
    for word in ("FAST", "SLOW"):
        (tmp / f"{word.lower()}.md").write_text(PAPER.replace("WORD", word))
    server, state = slow_server(trickle(2.0))
    with server:
        out = tmp / "ctrlc"
        proc = cli(src, ["review", str(tmp / "fast.md"), str(tmp / "slow.md"), "--base-url", server.url]
                   + ["--engine-opt", "timeout=600", "-o", str(out)])  # fmt: skip
        deadline = time.monotonic() + 120
        while not (state["fast"] and server.requests >= 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        took, err = finish(proc, cap)
    done = 0
    if (out / "run.sqlite").exists():
        import sqlite3

        con = sqlite3.connect(out / "run.sqlite")
        done = con.execute("SELECT COUNT(*) FROM requests WHERE status = 'done'").fetchone()[0]
        con.close()
    return {
        "seconds_to_exit": took,
        "exit": proc.returncode,
        "finished_reviews_kept": done,
        "said": err[-200:],
    }


def big_reply(src: str, tmp: Path, size: int, char: str, cap: float) -> dict:
    paper = tmp / "p.md"
    paper.write_text(PAPER.replace("WORD", "BIG"))
    out = tmp / f"big{size}"
    with HostileServer(huge(size, char)) as server:
        proc = cli(
            src,
            ["review", str(paper), "--base-url", server.url, "--engine-opt", "max_retries=0", "-o", str(out)],
        )
        took, err = finish(proc, cap)
    return {"seconds": took, "exit": proc.returncode, "bytes_stored": folder_bytes(out) if out.exists() else 0,
            "said": err[-300:]}  # fmt: skip


def web_freeze(src: str, tmp: Path, what: str, cap: float) -> dict:
    """Serve, send the hostile form, and fetch /runs every 0.5 s meanwhile: the longest wait."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cycleresearcher", "serve", "--port", str(port), "--runs-dir", str(tmp / "runs")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env_for(src), start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                token = httpx.get(base + "/api/token", timeout=5).json()["token"]
                break
            except (httpx.HTTPError, ValueError):
                time.sleep(0.2)
        box: dict = {}

        def send() -> None:
            start = time.monotonic()
            with httpx.Client(base_url=base, headers={"X-CSRF-Token": token}, timeout=cap) as c:
                try:
                    if what == "bomb":
                        r = c.post(
                            "/review-upload",
                            files={"paper": ("bomb.pdf", bomb_pdf(20, 5.0), "application/pdf")},
                        )
                    else:
                        entry = (ROOT / "tests" / "data" / "web" / "refs.bib").read_text().strip() + "\n\n"
                        big = "".join(
                            entry.replace("{", f"{{k{k}x", 1) for k in range(5 * 10**6 // len(entry) + 1)
                        )
                        files = {"bib": ("big.bib", big.encode(), "text/plain")}
                        r = c.post("/generate", files=files, data={"n": "1", "max_tokens": "16"})
                    box["status"], box["said"] = r.status_code, r.text[-3000:]
                except httpx.HTTPError as exc:
                    box["status"], box["said"] = None, type(exc).__name__
            box["seconds"] = time.monotonic() - start

        thread = threading.Thread(target=send, daemon=True)
        thread.start()
        time.sleep(0.5)
        waits = []
        end = time.monotonic() + cap
        while thread.is_alive() and time.monotonic() < end:
            start = time.monotonic()
            try:
                httpx.get(base + "/runs", timeout=max(1.0, end - start))
                waits.append(time.monotonic() - start)
            except httpx.HTTPError:
                waits.append(float("inf"))
            time.sleep(0.5)
        thread.join(1)
        said = box.get("said") or ""
        line = next(
            (ln for ln in said.split("\n") if "bomb" in ln or "decompress" in ln or "took longer" in ln), ""
        )
        return {"max_runs_wait_s": max(waits) if waits else None, "form_seconds": box.get("seconds"),
                "form_status": box.get("status"), "said": line.strip()[:300]}  # fmt: skip
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_all(src: str, cap: float) -> dict:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        return {
            "web_pdf_bomb": web_freeze(src, tmp / "w1", "bomb", cap),
            "web_5mb_bib": web_freeze(src, tmp / "w2", "bib", cap),
            "review_trickle_timeout_20": review_until_deadline(src, tmp, "trickle", cap),
            "review_pings_timeout_20": review_until_deadline(src, tmp, "pings", cap),
            "ctrl_c": ctrl_c(src, tmp, cap),
            "reply_50_mb": big_reply(src, tmp, 50 * 2**20, "x", cap),
            "reply_2_mb_one_char": big_reply(src, tmp, 2 * 2**20, "a", cap),
        }


def shown(value: float | None, cap: float) -> str:
    return f">= {cap:.0f} (stopped)" if value is None or value == float("inf") else f"{value:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="source tree (src/) of the code before the limits")
    ap.add_argument("--cap", type=float, default=120.0)
    args = ap.parse_args()
    after = str(ROOT / "src")
    results = {"before": run_all(args.before, args.cap), "after": run_all(after, args.cap), "cap_s": args.cap}
    b, a, cap = results["before"], results["after"], args.cap
    rows = [
        ("web: /runs longest wait during a PDF bomb upload (s)", "web_pdf_bomb", "max_runs_wait_s"),
        ("web: the bomb upload answered after (s)", "web_pdf_bomb", "form_seconds"),
        ("web: /runs longest wait during a 5 MB .bib upload (s)", "web_5mb_bib", "max_runs_wait_s"),
        ("web: the .bib upload answered after (s)", "web_5mb_bib", "form_seconds"),
        (
            "review, trickle 1 byte/2 s, timeout=20: ends after (s)",
            "review_trickle_timeout_20",
            "seconds_to_end",
        ),
        ("review, `: ping` only, timeout=20: ends after (s)", "review_pings_timeout_20", "seconds_to_end"),
        ("review: Ctrl-C to exit (s)", "ctrl_c", "seconds_to_exit"),
    ]
    lines = [
        "# Hostile input and servers: before and after the limits (issue 27)",
        "",
        f"Machine: {machine()['cpu']}, {machine()['cpus']} CPUs (shared with other work while measured). "
        f"Cap {cap:.0f} s a scenario. `PYTHONPATH=src python benchmarks/hostile_limits.py --before ...`",
        "",
        "| scenario | before | after |",
        "|---|---|---|",
    ]
    for label, key, field in rows:
        lines.append(f"| {label} | {shown(b[key][field], cap)} | {shown(a[key][field], cap)} |")
    lines.append(f"| review: Ctrl-C exit code, finished reviews kept | {b['ctrl_c']['exit']}, "
                 f"{b['ctrl_c']['finished_reviews_kept']} | {a['ctrl_c']['exit']}, {a['ctrl_c']['finished_reviews_kept']} |")  # fmt: skip
    for key, label in (("reply_50_mb", "50 MB reply"), ("reply_2_mb_one_char", "2 MB of one character")):
        lines.append(f"| {label}: exit code, bytes stored under -o | {b[key]['exit']}, {b[key]['bytes_stored']:,} | "
                     f"{a[key]['exit']}, {a[key]['bytes_stored']:,} |")  # fmt: skip
    lines += ["", "What the command or page said (after):", ""]
    for key, value in a.items():
        lines.append(f"- {key}: {value.get('said', '')[:300]}")
    write("hostile_limits", results, lines)


if __name__ == "__main__":
    main()
