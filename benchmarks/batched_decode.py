"""Claim: decoding several sequences per llama.cpp step (the llama.cpp engine's ``max_sequences``)
is faster than one at a time on a small CPU. Goal: decode tok/s at 4 sequences >= 1.6x one at a
time on 2 cores with the embedded model.

Side by side in one run, same prompts, same sampling (seeded, EOS ignored, --max-tokens new tokens
each), same loaded model:

1. the engine: 4 requests one at a time (``max_sequences=1``: Llama.generate) against the 4
   decoded together (``max_sequences=4``); decode tok/s counts the steps with no prompt token in
   them (prefill excluded), end-to-end tok/s the whole ``generate`` call;
2. ``llama_cpp.server`` (the dev extra) on 127.0.0.1 serving the same 4 requests sent concurrently;
   the same numbers from its stream (first token to last, per request and for all);
3. end to end through the CLI, ``--engine-opt max_sequences=1`` against 4: ``review run`` of 4
   papers and ``research generate -n 4`` (wall time, and the engine tok/s the summary prints).

    PYTHONPATH=src python benchmarks/batched_decode.py [--max-tokens 64] [--reps 2] [--skip-cli]

Results: benchmarks/results/batched_decode.{md,json}, with the CPU and the load average.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import cpu_model, median, write  # noqa: E402

from cycleresearcher.engines import ChatRequest, SamplingParams  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = [
    "Explain what a hash table is.",
    "Write a short story about a lighthouse keeper.",
    "Describe how photosynthesis works.",
    "List some tips for learning a new language.",
]
EOG: list[int] = []  # the model's end-of-generation tokens, read by the engine side
PAPERS = ROOT / "tests" / "data" / "review_run" / "papers"


def messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- 1. the engine
def engine_side(gguf: str, max_tokens: int, reps: int, n_ctx: int) -> dict:
    from cycleresearcher.engines.llamacpp import LlamaCppEngine

    sp = SamplingParams(temperature=0.4, top_p=0.95, max_tokens=max_tokens, ignore_eos=True, seed=5)
    reqs = [ChatRequest(messages(p), sp) for p in PROMPTS]
    engines = {s: LlamaCppEngine(gguf, n_ctx=n_ctx, max_sequences=s) for s in (1, 4)}
    EOG.extend(sorted(engines[1].eog_ids))
    runs: dict[int, list[dict]] = {1: [], 4: []}
    try:
        for _ in range(reps):
            for s, eng in engines.items():  # alternating, so that load changes hit both
                eng.llm.reset()
                t = time.perf_counter()
                out = eng.generate(reqs)
                wall = time.perf_counter() - t
                tokens = sum(r.completion_tokens for r in out)
                if s == 1:  # one at a time: each sample's time after its first token
                    dec_tokens = sum(st.completion_tokens - 1 for st in eng.stats)
                    dec_s = sum(st.decode_s for st in eng.stats)
                else:
                    steps = [(n, dt) for n, prompt, dt in eng.steps if prompt == 0]
                    dec_tokens, dec_s = sum(n for n, _ in steps), sum(dt for _, dt in steps)
                runs[s].append(
                    {
                        "wall_s": round(wall, 3),
                        "tokens": tokens,
                        "decode_tok_s": round(dec_tokens / dec_s, 2),
                        "end_to_end_tok_s": round(tokens / wall, 2),
                        "load": load_avg(),
                    }
                )
                print(f"engine max_sequences={s}: {runs[s][-1]}", flush=True)
    finally:
        for eng in engines.values():
            eng.close()
    return {str(s): r for s, r in runs.items()}


# -- 2. llama_cpp.server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stream_one(url: str, text: str, max_tokens: int, eog: list[int]) -> dict:
    body = {
        "logit_bias": {str(t): -100.0 for t in eog},  # EOS ignored, as on the engine side
        "messages": messages(text),
        "max_tokens": max_tokens,
        "temperature": 0.4,
        "top_p": 0.95,
        "seed": 5,
        "stream": True,
    }
    req = urllib.request.Request(
        f"{url}/v1/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    first = last = None
    chunks = 0
    with urllib.request.urlopen(req, timeout=900) as resp:
        for raw in resp:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = json.loads(line[6:])["choices"][0].get("delta", {})
            if delta.get("content"):
                now = time.perf_counter()
                first = first or now
                last = now
                chunks += 1
    return {"start": start, "first": first or start, "last": last or start, "tokens": chunks}


def server_side(gguf: str, max_tokens: int, reps: int, n_ctx: int, eog: list[int]) -> dict:
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(len(os.sched_getaffinity(0)))]
    cmd += ["--interrupt_requests", "false"]  # its default: a new request cuts the running one short
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/v1/models", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("llama_cpp.server did not start") from None
                time.sleep(0.5)
        runs = []
        for _ in range(reps):
            t = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(len(PROMPTS)) as pool:
                got = list(pool.map(lambda p: stream_one(url, p, max_tokens, eog), PROMPTS))
            wall = time.perf_counter() - t
            tokens = sum(g["tokens"] for g in got)
            # its decode: the time some request was past its first token (they run one by one)
            spans = sorted((g["first"], g["last"]) for g in got)
            busy, end = 0.0, float("-inf")
            for a, b in spans:
                busy += max(0.0, b - max(a, end))
                end = max(end, b)
            runs.append(
                {
                    "wall_s": round(wall, 3),
                    "tokens": tokens,
                    "decode_tok_s": round((tokens - len(got)) / busy, 2) if busy else None,
                    "end_to_end_tok_s": round(tokens / wall, 2),
                    "load": load_avg(),
                }
            )
            print(f"llama_cpp.server, 4 concurrent: {runs[-1]}", flush=True)
        return {"runs": runs}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -- 3. the CLI end to end
def cli(args: list[str], env: dict) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "cycleresearcher", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed: {out.stderr[-2000:]}")
    return wall, out.stdout + out.stderr


def four_papers(folder: Path) -> list[str]:
    """The review tests' 3 papers and a 4th: the LaTeX one under another title (a distinct request)."""
    papers = [PAPERS / "graphmix.tex", PAPERS / "paper.json", PAPERS / "sparseroute.md"]
    tex = (PAPERS / "graphmix.tex").read_text()
    fourth = folder / "graphmix_variant.tex"
    fourth.write_text(
        re.sub(r"\\title\{[^}]*\}", r"\\title{Feature Interpolation on Graphs, Revisited}", tex)
    )
    return [str(p) for p in (*papers, fourth)]


def cli_side(max_tokens: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1", "COLUMNS": "200"}
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        papers = four_papers(Path(tmp))
        for s in (1, 4):
            opt = ["--engine-opt", f"max_sequences={s}"]
            run = Path(tmp) / f"review{s}"
            wall, _ = cli(
                ["review", "run", *papers, "--max-tokens", str(max_tokens), "-o", str(run), *opt], env
            )
            rows[f"review 4 papers, max_sequences={s}"] = {"wall_s": round(wall, 2), "load": load_avg()}
            print(rows, flush=True)
            run = Path(tmp) / f"gen{s}"
            bib = str(ROOT / "examples" / "references.bib")
            args = ["research", "generate", bib, "-n", "4", "--max-tokens", str(max_tokens), "--seed", "3"]
            wall, text = cli([*args, "--no-pdf", "-o", str(run), *opt], env)
            m = re.search(r"([\d.]+) tok/s in the engine", text)
            rows[f"research generate -n 4, max_sequences={s}"] = {
                "wall_s": round(wall, 2),
                "engine_tok_s": float(m.group(1)) if m else None,
                "load": load_avg(),
            }
            print(rows, flush=True)
            shutil.rmtree(run, ignore_errors=True)
    return rows


def main() -> None:
    from cycleresearcher.models import embedded_model_path

    ap = argparse.ArgumentParser()
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--n-ctx", type=int, default=2048)
    ap.add_argument("--cli-max-tokens", type=int, default=128)
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--skip-server", action="store_true")
    ap.add_argument(
        "--keep-cli", action="store_true", help="with --skip-cli: keep the CLI rows of the last results"
    )
    args = ap.parse_args()
    gguf = str(embedded_model_path())
    load_before = load_avg()
    eng = engine_side(gguf, args.max_tokens, args.reps, args.n_ctx)
    server = None if args.skip_server else server_side(gguf, args.max_tokens, args.reps, args.n_ctx, EOG)
    cli_rows = None if args.skip_cli else cli_side(args.cli_max_tokens)
    if cli_rows is None and args.keep_cli:
        last = json.loads((ROOT / "benchmarks" / "results" / "batched_decode.json").read_text())
        cli_rows, args.cli_max_tokens = last["cli"], last["settings"]["cli_max_tokens"]

    def med(runs: list[dict], key: str) -> float:
        return round(median([r[key] for r in runs if r[key] is not None]), 2)

    one, four = eng["1"], eng["4"]
    speedup = round(med(four, "decode_tok_s") / med(one, "decode_tok_s"), 2)
    lines = [
        "# Several sequences per llama.cpp decode step",
        "",
        f"CPU: {cpu_model()}, {len(os.sched_getaffinity(0))} cores; load average (1, 5, 15 min) before: "
        f"{load_before}, after: {load_avg()}. Embedded SmolLM2-135M Q4_1, n_ctx {args.n_ctx}, "
        f"{len(PROMPTS)} prompts x {args.max_tokens} new tokens (EOS ignored), {args.reps} rep(s), medians.",
        "",
        "| side | decode tok/s (prefill excluded) | end-to-end tok/s | wall s |",
        "|---|---|---|---|",
        f"| engine, one at a time (max_sequences=1) | {med(one, 'decode_tok_s')} | "
        f"{med(one, 'end_to_end_tok_s')} | {med(one, 'wall_s')} |",
        f"| engine, 4 together (max_sequences=4) | {med(four, 'decode_tok_s')} | "
        f"{med(four, 'end_to_end_tok_s')} | {med(four, 'wall_s')} |",
    ]
    if server:
        r = server["runs"]
        lines.append(
            f"| llama_cpp.server, 4 concurrent requests | {med(r, 'decode_tok_s')} | "
            f"{med(r, 'end_to_end_tok_s')} | {med(r, 'wall_s')} |"
        )
    lines += ["", f"Decode speed-up at 4 sequences: **{speedup}x** (goal >= 1.6x on 2 cores)."]
    if cli_rows:
        lines += [
            "",
            f"End to end (CLI, --max-tokens {args.cli_max_tokens}):",
            "",
            "| command | wall s | engine tok/s |",
        ]
        lines.append("|---|---|---|")
        for name, row in cli_rows.items():
            lines.append(f"| {name} | {row['wall_s']} | {row.get('engine_tok_s', '')} |")
    if load_before[0] > len(os.sched_getaffinity(0)):
        lines += ["", "The machine was busy (load above its core count): rerun on an idle machine."]
    write(
        "batched_decode",
        {
            "engine": eng,
            "server": server,
            "cli": cli_rows,
            "decode_speedup": speedup,
            "settings": vars(args),
            "load_before": load_before,
        },
        lines,
    )


if __name__ == "__main__":
    main()
