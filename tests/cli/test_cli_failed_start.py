"""A command that fails before doing any work leaves no run directory it created behind (a bad .bib,
a missing file, a bad option); a folder that existed before, or that holds a request, stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.store import RunStore

ROOT = Path(__file__).resolve().parent.parent.parent
GOOD_BIB = ROOT / "examples" / "references.bib"


@pytest.fixture
def bad_bib(tmp_path: Path) -> Path:
    path = tmp_path / "inputs" / "bad.bib"
    path.parent.mkdir()
    path.write_text("@article{a,\n  title = {never closed\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch):
    """Commands without -o write under ./runs: run them in an empty folder."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _run(*args: str):
    return CliRunner().invoke(app, [*map(str, args)])


def _left(tmp_path: Path) -> list[str]:
    """Everything under tmp_path except the inputs: what the command left behind."""
    return sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if "inputs" not in p.relative_to(tmp_path).parts
    )


# -- research generate --------------------------------------------------------------------------


def test_generate_bad_bib_leaves_no_run_dir(bad_bib, tmp_path):
    result = _run("research", "generate", bad_bib, "-o", tmp_path / "new" / "deeper" / "run")
    assert result.exit_code == 2
    assert "not closed" in result.output
    assert _left(tmp_path) == ["cwd"]  # not even the parents it created


@pytest.mark.parametrize(
    "option, value, says",
    [
        ("--temperature", "-1", "--temperature"),
        ("--top-p", "1.5", "--top-p"),
        ("--top-p", "0", "top_p must be in (0, 1]"),  # typer's range is closed; the library's is not
        ("--max-tokens", "0", "--max-tokens"),
    ],
)
def test_generate_bad_sampling_value_is_an_input_error(tmp_path, option, value, says):
    """A sampling value out of range is the user's to fix (exit 2, the value named), not an
    unexpected error with a log to report; nothing is written."""
    result = _run("research", "generate", GOOD_BIB, option, value, "-o", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert says in result.output and "Unexpected error" not in result.output
    assert _left(tmp_path) == ["cwd"]


def test_generate_bad_bib_default_dir_leaves_no_runs_folder(bad_bib, tmp_path, _cwd):
    result = _run("research", "generate", bad_bib)
    assert result.exit_code == 2
    assert not (_cwd / "runs").exists()


def test_generate_missing_file_leaves_no_run_dir(tmp_path):
    result = _run("research", "generate", tmp_path / "inputs" / "missing.bib", "-o", tmp_path / "run")
    assert result.exit_code == 2
    assert _left(tmp_path) == ["cwd"]


@pytest.mark.parametrize(
    "bad",
    [
        ["--engine-opt", "n_ctx"],  # not KEY=VALUE
        ["--engine-opt", "n_ctxx=4096"],  # no such engine setting
        ["--engine-opt", "n_ctx=lots"],  # wrong type
        ["--engine", "nonsense"],
        ["--model", "/no/such/model.gguf"],  # the engine cannot load: nothing ran
    ],
)
def test_generate_bad_option_leaves_no_run_dir(bad, tmp_path):
    result = _run("research", "generate", GOOD_BIB, "-o", tmp_path / "run", *bad)
    assert result.exit_code == 2, result.output
    assert _left(tmp_path) == ["cwd"]


def test_generate_keeps_a_folder_that_existed(bad_bib, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes", encoding="utf-8")
    assert _run("research", "generate", bad_bib, "-o", mine).exit_code == 2
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "my notes"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run("research", "generate", bad_bib, "-o", empty).exit_code == 2
    assert empty.is_dir()


def test_generate_keeps_a_run_that_did_work(tmp_path):
    """Requests that failed against a dead server are work --resume retries: the folder stays."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = tmp_path / "run"
    result = _run(
        "research", "generate", GOOD_BIB, "-o", run, "--base-url", f"http://127.0.0.1:{port}/v1",
        "--model", "foo", "--engine-opt", "max_retries=0",
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    with RunStore(run) as store:
        assert [r["status"] for r in store.request_rows()] == ["failed"]


# -- review -------------------------------------------------------------------------------------


def test_review_missing_file_leaves_no_run_dir(tmp_path, _cwd):
    result = _run("review", tmp_path / "inputs" / "missing.pdf", "-o", tmp_path / "rev")
    assert result.exit_code == 2  # nothing could be read: bad input (README "Exit codes")
    assert "no such file" in result.output
    assert "--resume -o" not in result.output  # nothing to resume
    assert _left(tmp_path) == ["cwd"]
    assert _run("review", tmp_path / "inputs" / "missing.pdf").exit_code == 2
    assert not (_cwd / "runs").exists()


@pytest.mark.parametrize("bad", [["--engine-opt", "n_ctx=lots"], ["--engine", "nonsense"]])
def test_review_bad_option_leaves_no_run_dir(bad, tmp_path):
    paper = tmp_path / "inputs" / "paper.md"
    paper.parent.mkdir()
    paper.write_text("# A paper\n\nText.\n", encoding="utf-8")
    result = _run("review", paper, "-o", tmp_path / "rev", *bad)
    assert result.exit_code == 2, result.output
    assert _left(tmp_path) == ["cwd"]


# -- train --------------------------------------------------------------------------------------


def _config(tmp_path: Path, references: Path, out: Path) -> Path:
    cfg = tmp_path / "inputs" / "cycle.toml"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text(
        f"rounds = 1\noutput_dir = {json.dumps(str(out))}\n[policy]\nmodel = \"embedded\"\n"
        f"[data]\nreferences = {json.dumps(str(references))}\n",
        encoding="utf-8",
    )
    return cfg


def test_train_bad_bib_leaves_no_run_dir(bad_bib, tmp_path):
    cfg = _config(tmp_path, bad_bib.parent, tmp_path / "cycle" / "run")
    result = _run("train", cfg)
    assert result.exit_code == 2, result.output
    assert "not closed" in result.output
    assert _left(tmp_path) == ["cwd"]


@pytest.mark.parametrize("bad", [["--set", "bogus=1"], ["--set", "rounds=many"], ["--rounds", "0"]])
def test_train_bad_option_leaves_no_run_dir(bad, bad_bib, tmp_path):
    cfg = _config(tmp_path, bad_bib.parent, tmp_path / "cycle")
    result = _run("train", cfg, "-o", tmp_path / "other", *bad)
    assert result.exit_code == 2, result.output
    assert _left(tmp_path) == ["cwd"]


def test_train_missing_config_leaves_no_run_dir(tmp_path):
    result = _run("train", tmp_path / "inputs" / "missing.toml", "-o", tmp_path / "cycle")
    assert result.exit_code == 2
    assert _left(tmp_path) == ["cwd"]
