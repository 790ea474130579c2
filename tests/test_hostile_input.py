"""Hostile structure: JSON nested 200,000 deep and a 1,500-deep \\input chain give one clear line
naming the file (exit 2, or the batch goes on with the good files), never a RecursionError."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher import safejson
from cycleresearcher.cli import app
from cycleresearcher.errors import InputError
from cycleresearcher.paper import parse_paper
from cycleresearcher.paper.batch import iter_documents
from cycleresearcher.paper.readers import MAX_INCLUDE_DEPTH, read_document
from support import FAKE_ENGINE, child_env

DEEP = "[" * 200_000 + "]" * 200_000
DATA = Path(__file__).resolve().parent / "data"
runner = CliRunner()


@pytest.fixture
def deep(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text(DEEP)
    return path


@pytest.fixture
def good_md(tmp_path):
    path = tmp_path / "good.md"
    path.write_text("# A good paper\n\nWe study things carefully and report what we found.\n")
    return path


def include_chain(folder, depth: int):
    """main.tex -> f0.tex -> f1.tex -> ... (``depth`` files below main)."""
    folder.mkdir()
    for i in range(depth):
        (folder / f"f{i}.tex").write_text(f"level {i}\n\\input{{f{i + 1}}}\n")
    (folder / f"f{depth}.tex").write_text("the bottom\n")
    main = folder / "main.tex"
    main.write_text("\\documentclass{article}\\begin{document}\\title{T}\\input{f0}\\end{document}\n")
    return main


def assert_refused(result, path) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a RecursionError
    assert f"{path.name}: nested too deeply" in result.output.replace("\n", "")


def test_safe_loader_names_the_file():
    with pytest.raises(InputError, match="x.json: nested too deeply"):
        safejson.loads(DEEP, "x.json")
    # deep enough to load, too deep for anything that walks it recursively afterwards
    with pytest.raises(safejson.NestingError):
        safejson.loads("[" * 500 + "]" * 500)
    assert safejson.loads("[" * 50 + "]" * 50)  # real files are far shallower
    with pytest.raises(ValueError):  # decode errors pass through for the callers' own hints
        safejson.loads("{nope")


def make_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    return run


COMMANDS = {
    "references render": lambda d, t: ["references", "render", str(d)],
    "research generate": lambda d, t: ["research", "generate", str(d), "-e", FAKE_ENGINE, "-o", str(t / "o")],
    "research complete": lambda d, t: ["research", "complete", str(make_run(t)), "--results", str(d)],
    "paper export": lambda d, t: ["paper", "export", str(d), "-o", str(t / "o")],
    "evaluate papers": lambda d, t: ["evaluate", "papers", str(d.parent), "-o", str(t / "o")],
    "evaluate reviewers": lambda d, t: [
        "evaluate",
        "reviewers",
        "--truth",
        str(d),
        "--pred",
        str(d.parent),
        "-o",
        str(t / "o"),
    ],  # fmt: skip
    "evaluate detection": lambda d, t: ["evaluate", "detection", str(d), "-o", str(t / "o")],
    "evaluate winrate": lambda d, t: [
        "evaluate",
        "winrate",
        "--a",
        str(d.parent),
        "--b",
        str(d.parent),
        "-e",
        FAKE_ENGINE,
        "-o",
        str(t / "o"),
    ],  # fmt: skip
}


@pytest.mark.parametrize("command", COMMANDS)
def test_deep_json_is_one_clear_line(command, deep, tmp_path):
    result = runner.invoke(app, COMMANDS[command](deep, tmp_path))
    assert_refused(result, deep)


def test_review_batch_goes_on_past_deep_json_and_deep_includes(deep, good_md, tmp_path):
    main = include_chain(tmp_path / "tex", 1500)
    # a real subprocess: this is what the user sees
    proc = subprocess.run(
        [sys.executable, "-m", "cycleresearcher", "review", str(deep), str(main), str(good_md)]
        + ["-e", FAKE_ENGINE, "-o", str(tmp_path / "rv")]
        # a reply with reviewers in it (one with none is a failed review)
        + [
            "--engine-opt",
            "script=" + (DATA / "review_run" / "cyclereviewer_a.txt").read_text(encoding="utf-8"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=child_env(),
    )
    text = (proc.stdout + proc.stderr).replace("\n", "")
    assert proc.returncode == 3, text  # the good paper is reviewed; unreadable files make it exit 3
    assert "Traceback" not in text and "RecursionError" not in text
    assert "deep.json: nested too deeply" in text
    assert "main.tex: \\input files nested too deeply" in text
    assert "Reviewed 1 paper(s), 2 unreadable" in text


def test_include_depth_limit_names_the_chain(tmp_path):
    main = include_chain(tmp_path / "deep", MAX_INCLUDE_DEPTH + 5)
    with pytest.raises(InputError, match=r"main\.tex -> f0\.tex -> f1\.tex -> \.\.\."):
        read_document(main)
    ok = include_chain(tmp_path / "ok", MAX_INCLUDE_DEPTH - 2)
    assert "the bottom" in read_document(ok).text
    # iter_documents yields the error instead of raising it: the batch goes on
    [(_, item)] = list(iter_documents([main]))
    assert isinstance(item, InputError)


def test_paper_parser_ignores_deep_json_in_model_output():
    for results in (f"```json\n{DEEP}\n```", DEEP):  # fenced, and the unfenced raw_decode path
        text = f"## Motivation\nm\n\n## Experimental_results\n\n{results}\n\n## Latex\n```latex\nx\n```"
        paper = parse_paper(text)
        assert any("nested too deeply" in w for w in paper.warnings), paper.warnings


@pytest.mark.slow  # loads the embedded scoring model
def test_detect_batch_and_calibration_on_deep_json(deep, good_md, tmp_path):
    result = runner.invoke(app, ["detect", str(deep), "--max-tokens", "64"])
    assert not isinstance(result.exception, RecursionError), result.exception
    assert "deep.json: nested too deeply" in result.output.replace("\n", "")
    result = runner.invoke(app, ["detect", str(good_md), "--calibration", str(deep)])
    assert_refused(result, deep)
