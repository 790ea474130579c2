"""One process per run folder (the second says who holds it; a dead holder's lock is taken over),
a damaged run store is skipped and listed by `serve` and refused with a clear line elsewhere, a run
folder on read-only media can be reviewed, and a reply with no reviewer in it is a failure."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import time
import urllib.request
from pathlib import Path

import pytest

from researcher_outputs import simulated_output
from support import FAKE_ENGINE
from support.cli_proc import cli, remount_readonly, spawn, tmpfs

SCRIPT = simulated_output(0)


def _gen_args(bib: Path, run: Path, *extra: object, engine_opts: tuple[str, ...] = ()) -> list[object]:
    opts = [x for o in (f"script={SCRIPT}", *engine_opts) for x in ("--engine-opt", o)]
    return ["research", "generate", bib, "-o", run, "--no-pdf", "-e", FAKE_ENGINE, *opts, *extra]


def _holder_pid(run: Path, timeout: float = 60) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            return int(json.loads((run / "run.lock").read_text())["pid"])
        except (OSError, ValueError, KeyError):
            time.sleep(0.05)
    raise AssertionError(f"no lock taken in {run}")


def test_second_process_on_a_run_is_refused_and_named(tmp_path, bib) -> None:  # noqa: F811
    run, calls = tmp_path / "run", tmp_path / "calls.log"
    opts = ("delay=2", "samples_at_once=false", f"log={calls}")
    first = spawn(*_gen_args(bib, run, "-n", "4", "--resume", engine_opts=opts))
    assert _holder_pid(run) == first.pid
    second = cli(*_gen_args(bib, run, "-n", "4", "--resume", engine_opts=opts))
    assert second.returncode == 2, second.stdout  # was 0: both ran, 8 model calls for 4 samples
    assert f"in use by process {first.pid} (cycleresearcher research generate" in second.stdout
    assert first.wait(timeout=120) == 0
    assert calls.read_text().count("\n") == 4
    assert len(list(run.glob("papers/*/paper.json"))) == 4


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT])
def test_a_dead_holders_lock_is_taken_over(tmp_path, bib, stop) -> None:  # noqa: F811
    run = tmp_path / "run"
    first = spawn(*_gen_args(bib, run, "--resume", engine_opts=("delay=60",)))
    assert _holder_pid(run) == first.pid
    first.send_signal(stop)
    assert first.wait(timeout=30) in (-signal.SIGKILL, 130)
    r = cli(*_gen_args(bib, run, "--resume"))
    assert r.returncode == 0, r.stdout
    assert json.loads((run / "run.lock").read_text())["pid"] not in (first.pid, None)
    assert len(list(run.glob("papers/*/paper.json"))) == 1


def _damage(run: Path) -> None:
    """Junk over the middle pages, from the records table on: the schema, the migrations and the
    settings stay readable (the store opens), the papers and the jobs do not."""
    db = run / "run.sqlite"
    with sqlite3.connect(db) as conn:
        first = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'records'").fetchone()[0]
    conn.close()
    assert not (run / "run.sqlite-wal").exists() or (run / "run.sqlite-wal").stat().st_size == 0
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    start, end = (first - 1) * page, len(data) - page  # the last page stays
    assert end > start
    data[start:end] = b"\xa5" * (end - start)
    db.write_bytes(bytes(data))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_damaged_run_is_skipped_listed_and_refused(tmp_path, bib) -> None:  # noqa: F811
    runs = tmp_path / "runs"
    for name in ("good", "broken"):
        r = cli(*_gen_args(bib, runs / name, "-n", "3"))
        assert r.returncode == 0, r.stdout
    _damage(runs / "broken")

    r = cli(*_gen_args(bib, runs / "broken", "-n", "3", "--resume"))
    assert r.returncode == 2, r.stdout  # was 1, "Unexpected error: DatabaseError ... please report it"
    assert "is damaged" in r.stdout and "Unexpected error" not in r.stdout
    r = cli("review", runs / "broken", "-o", tmp_path / "rev", "-e", FAKE_ENGINE)
    assert "is damaged" in r.stdout and "Unexpected error" not in r.stdout and r.returncode != 0
    paper = tmp_path / "p.md"
    paper.write_text("# A paper\n\nSome text.\n", encoding="utf-8")
    r = cli("review", paper, "-o", runs / "broken", "--resume", "-e", FAKE_ENGINE)
    assert r.returncode == 2 and "is damaged" in r.stdout and "Unexpected error" not in r.stdout

    port = _free_port()
    server = spawn("serve", "--runs-dir", runs, "--port", port)
    try:
        page, deadline = None, time.time() + 60
        while page is None and time.time() < deadline and server.poll() is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/runs", timeout=5).read().decode()
            except OSError:
                time.sleep(0.2)
        assert server.poll() is None, server.communicate()[0]  # was: exits at start-up, "Unexpected error"
        assert page is not None
        assert 'href="/runs/good"' in page and "damaged, skipped" in page and "broken" in page
    finally:
        server.terminate()
        out = server.communicate(timeout=30)[0]
    assert "Skipped damaged run broken" in out


def test_review_a_run_folder_on_read_only_media(tmp_path, bib) -> None:  # noqa: F811
    with tmpfs(tmp_path / "media", "8m") as media:
        if media is None:
            pytest.skip("cannot mount a tmpfs here (needs root and mount permission)")
        r = cli(*_gen_args(bib, media / "run"))
        assert r.returncode == 0, r.stdout
        assert remount_readonly(media)
        r = cli("review", media / "run", "-o", tmp_path / "rev", "-e", FAKE_ENGINE, "--engine-opt",
                "script=## Reviewer\n\n**Summary**\nok\n\n**Rating**\n6\n")  # fmt: skip
        assert "Use a new -o folder" not in r.stdout  # was: refused as if it were the output
        assert "read-only" not in r.stdout.lower(), r.stdout
        assert len(list((tmp_path / "rev").glob("run.sqlite"))) == 1


def test_a_reply_with_no_reviewer_is_a_failure(tmp_path) -> None:
    paper = tmp_path / "p.md"
    paper.write_text("# A paper\n\n## Method\n\nWe do things.\n", encoding="utf-8")
    r = cli(
        "review", paper, "-o", tmp_path / "rev", "-e", FAKE_ENGINE, "--engine-opt", "script=" + "x" * 20000
    )
    assert r.returncode == 3, r.stdout  # was 0: "Reviewed 1 paper(s)" with 0 reviewers
    assert "holds no reviewer and no score" in r.stdout and "1 review(s) failed" in r.stdout
    [exported] = (tmp_path / "rev").glob("reviews/*.json")  # kept to be read, marked as failed
    assert json.loads(exported.read_text())["error"].startswith(
        "the reply (20,000 characters) holds no reviewer"
    )
