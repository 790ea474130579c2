"""``evaluate ... -o DIR``: the help of each command names exactly the files it writes there; only
``winrate`` keeps a run store (its judge's requests), and says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.store import RunStore
from support import FAKE_ENGINE
from support.cli_walk import leaves, options

ROOT = Path(__file__).resolve().parent.parent.parent
EV = ROOT / "tests" / "data" / "evaluation"
FILE = re.compile(r"\b[\w.]+\.(?:md|csv|png|jsonl|json|sqlite|lock)\b")

RUNS = {
    "papers": [str(EV / "reviews"), "--group-by", "folder"],
    "reviewers": ["--truth", str(EV / "truth.json"), "--pred", str(EV / "pred")],
    "detection": [str(EV / "detections.json"), "--labels", str(EV / "detect_labels.csv")],
    "winrate": [
        "--a", str(EV / "winrate/a"), "--b", str(EV / "winrate/b"), "--engine", FAKE_ENGINE,
        "--engine-opt", "script=Accuracy: A\nSpecificity: Tie\nConstructiveness: B\nOverall: A",
    ],
}  # fmt: skip


def _out_help(command: str) -> str:
    cmd = dict(leaves())[("evaluate", command)]
    return next(o for o in options(cmd) if "-o" in o.opts).help


def _written(folder: Path) -> set[str]:
    # SQLite's -wal / -shm companions come and go with open connections: count the store once
    return {p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm"))}


@pytest.mark.parametrize("command", sorted(RUNS))
def test_out_help_names_what_is_written(command, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["evaluate", command, *RUNS[command], "-o", str(out)])
    assert result.exit_code == 0, result.output
    promised = set(FILE.findall(_out_help(command)))
    assert promised, _out_help(command)
    assert _written(out) == promised


@pytest.mark.parametrize("command", ["papers", "reviewers", "detection"])
def test_table_commands_promise_no_run_store(command):
    text = _out_help(command)
    assert "SQLite" not in text and "resume" not in text
    assert "no run store" in text


def test_winrate_keeps_its_run_store_and_resumes(tmp_path):
    out = tmp_path / "out"
    assert "run store" in _out_help("winrate") and "run.sqlite" in _out_help("winrate")
    args = ["evaluate", "winrate", *RUNS["winrate"], "-o", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    with RunStore(out) as store:
        first = store.request_rows()
    assert len(first) == 3 and all(r["status"] == "done" for r in first)
    assert CliRunner().invoke(app, args).exit_code == 0  # rerun: the stored judgements are reused
    with RunStore(out) as store:
        again = store.request_rows()
    assert [(r["key"], r["attempts"]) for r in again] == [(r["key"], r["attempts"]) for r in first]
