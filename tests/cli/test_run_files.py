"""Half-written files are never left or trusted: every export goes through a temporary file and a
rename (a SIGKILL mid-write leaves the old file or the new one, whole); a truncated paper.json is
refused; an interrupted `research complete` is finished from the store with no model call; a full
disk says "disk full" and leaves no truncated main.pdf / paper.json."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cycleresearcher.research import STAGE1_STOP
from cycleresearcher.store import RunStore
from researcher_outputs import RESULTS, STAGE1, TURN5, simulated_output
from support import FAKE_ENGINE, child_env
from support.cli_proc import cli, fill, spawn, tmpfs

TWO_STAGE = STAGE1 + "\n" + STAGE1_STOP + "\n\n```json\n[]```"
HAS_TEX = subprocess.run(["which", "latexmk"], capture_output=True).returncode == 0

WRITER = """
import sys
from cycleresearcher import atomic
target, size = sys.argv[1], int(sys.argv[2])
atomic.write_bytes(target, b"A" * size)
print("ready", flush=True)
while True:
    atomic.write_bytes(target, b"B" * size)
    atomic.write_bytes(target, b"A" * size)
"""


def test_sigkill_mid_write_leaves_a_whole_file(tmp_path) -> None:
    """50 MB written over and over, killed at random points: the file is always one whole version
    and no temporary file is trusted in its place (a plain write left 2 MB of 52)."""
    size = 50 * 1024 * 1024
    target = tmp_path / "review.json"
    for delay in (0.05, 0.2, 0.45):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), str(size)],
            env=child_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.kill()
        proc.wait()
        data = target.read_bytes()
        assert len(data) == size and data in (b"A" * size, b"B" * size)
        for leftover in tmp_path.glob(
            ".review.json.*.tmp"
        ):  # a kill may leave its temp file: never the target
            leftover.unlink()


def test_export_of_a_truncated_paper_json_fails(tmp_path, bib) -> None:  # noqa: F811
    run = tmp_path / "run"
    r = cli("research", "generate", bib, "-o", run, "--no-pdf", "-e", FAKE_ENGINE, "--engine-opt",
            f"script={simulated_output(0)}")  # fmt: skip
    assert r.returncode == 0, r.stdout
    [paper_json] = run.glob("papers/*/paper.json")
    cut = tmp_path / "paper.json"
    cut.write_bytes(paper_json.read_bytes()[: paper_json.stat().st_size // 2])
    out = tmp_path / "out"
    r = cli("paper", "export", cut, "-o", out)
    assert r.returncode == 2, r.stdout  # was 0, with a garbage PDF labelled "Results simulated"
    assert "not valid JSON" in r.stdout and "truncated" in r.stdout
    assert not out.exists() or not any(out.rglob("*.pdf")) and not any(out.rglob("paper.md"))


@pytest.mark.skipif(not HAS_TEX, reason="needs latexmk: the kill lands while the PDF compiles")
def test_killed_completion_is_finished_from_the_store(tmp_path, bib) -> None:  # noqa: F811
    run = tmp_path / "run"
    r = cli("research", "generate", bib, "-o", run, "--two-stage", "-e", FAKE_ENGINE, "--engine-opt",
            f"script={TWO_STAGE}")  # fmt: skip
    assert r.returncode == 0, r.stdout
    results = tmp_path / "results.json"
    results.write_text(json.dumps(RESULTS), encoding="utf-8")
    calls = tmp_path / "calls.log"
    args = ("research", "complete", run, "--results", results, "-e", FAKE_ENGINE, "--engine-opt",
            f"script={TURN5}", "--engine-opt", f"log={calls}")  # fmt: skip
    proc = spawn(*args)
    [pid] = [p.name for p in (run / "papers").iterdir()]
    deadline = time.time() + 60
    while time.time() < deadline:  # kill the moment the store says complete: the export is under way
        with RunStore(run) as store:
            if store.get("paper", pid)["meta"]["stage"] == "complete":
                break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    folder = run / "papers" / pid
    assert calls.read_text().count("\n") == 1
    interrupted = (
        not (folder / "latex" / "main.pdf").exists()
        or "Ours reaches" not in (folder / "paper.md").read_text()
    )

    r = cli(*args)  # the same command again: was refused ("add --redo", a new model call)
    assert r.returncode == 0, r.stdout
    assert calls.read_text().count("\n") == 1  # no new model call
    if interrupted:
        assert "written again from the run store" in r.stdout
    assert (folder / "latex" / "main.pdf").read_bytes().rstrip().endswith(b"%%EOF")
    assert "Ours reaches 10.1" in (folder / "paper.md").read_text()
    record = json.loads((folder / "paper.json").read_text())
    assert record["Experimental_results"] == RESULTS and record["meta"]["stage"] == "complete"


@pytest.mark.skipif(not HAS_TEX, reason="needs latexmk: the PDF is what overflows the disk")
def test_full_disk_says_so_and_keeps_nothing_half_written(tmp_path, bib) -> None:  # noqa: F811
    run = tmp_path / "run"
    r = cli("research", "generate", bib, "-o", run, "--no-pdf", "-e", FAKE_ENGINE, "--engine-opt",
            f"script={simulated_output(0)}")  # fmt: skip
    assert r.returncode == 0, r.stdout
    [paper_json] = run.glob("papers/*/paper.json")
    with tmpfs(tmp_path / "disk", "1m") as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here (needs root and mount permission)")
        fill(disk, 24 * 1024)  # room for paper.json, paper.md and main.tex, not for the PDF
        out = disk / "out"
        r = cli("paper", "export", paper_json, "-o", out)
        assert r.returncode == 2, r.stdout  # was 1, "Unexpected error ... please report it"
        assert "disk full" in r.stdout and "free some space" in r.stdout
        assert "Unexpected error" not in r.stdout
        assert not (out / "latex" / "main.pdf").exists()  # was a truncated main.pdf
        for written in out.rglob("*.json"):
            json.loads(written.read_text())  # whole, or not there
        assert not list(out.rglob("*.tmp"))


def test_full_disk_under_the_run_store(tmp_path, bib) -> None:  # noqa: F811
    """SQLite's own "database or disk is full" is the same clear line."""
    with tmpfs(tmp_path / "disk", "1m") as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here (needs root and mount permission)")
        fill(disk, 8 * 1024)
        r = cli("research", "generate", bib, "-o", disk / "run", "--no-pdf", "-e", FAKE_ENGINE,
                "--engine-opt", f"script={simulated_output(0)}")  # fmt: skip
        assert r.returncode == 2, r.stdout
        assert "disk full" in r.stdout and "Unexpected error" not in r.stdout
        assert not list(Path(disk).rglob("paper.json"))
