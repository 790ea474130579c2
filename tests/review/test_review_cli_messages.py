"""What ``cycleresearcher review`` says when its inputs or settings are wrong: inputs of which none
could be read (exit 2, each named, no run folder), a resume with other settings (exit 2, each
setting named), an option this reviewer does not use (a note), the closing line of a run whose
requests failed (where the run is, not a reviews folder that was never made), and pypdf's own log
lines for a file that is not a PDF (hidden unless --verbose)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from support import FAKE_ENGINE, child_env

DATA = Path(__file__).resolve().parents[1] / "data" / "review_run"


def review(*args: object):
    from cycleresearcher.cli import app

    return CliRunner().invoke(app, ["review", *map(str, args)])


def test_a_missing_file_alone_is_bad_input_and_leaves_no_folder(tmp_path):
    result = review(tmp_path / "nonexist.pdf", "--engine", FAKE_ENGINE, "-o", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert "nonexist.pdf: no such file" in result.output and "Reviewed 0" not in result.output
    assert not (tmp_path / "run").exists()


def test_a_folder_with_no_paper_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "table.csv").write_text("a,b\n", encoding="utf-8")
    result = review(tmp_path / "empty", tmp_path / "notes", "--engine", FAKE_ENGINE, "-o", tmp_path / "run")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if "no papers found in this folder" in line]
    assert len(lines) == 2 and "(.pdf, .tex, .md, .txt, .json)" in lines[0]
    assert not (tmp_path / "run").exists()


def test_some_read_and_some_not_reviews_the_readable_and_exits_3(tmp_path):
    (tmp_path / "empty").mkdir()
    script = (DATA / "cyclereviewer_a.txt").read_text(encoding="utf-8")
    result = review(
        DATA / "papers" / "graphmix.tex", tmp_path / "empty", "--engine", FAKE_ENGINE, "--engine-opt",
        f"script={script}", "-o", tmp_path / "run",
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "no papers found in this folder" in result.output and "Reviewed 1 paper(s), 1 unreadable" in result.output
    assert len(list((tmp_path / "run" / "reviews").glob("*.json"))) == 1


def test_a_resume_with_another_max_tokens_is_refused_naming_it(tmp_path):
    script = (DATA / "cyclereviewer_a.txt").read_text(encoding="utf-8")
    args = [DATA / "papers" / "graphmix.tex", "--engine", FAKE_ENGINE, "--engine-opt", f"script={script}", "-o", tmp_path / "run"]
    assert review(*args, "--max-tokens", "800").exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "run" / "reviews").iterdir()}
    refused = review(*args, "--max-tokens", "900", "--resume")
    assert refused.exit_code == 2, refused.output
    assert "--max-tokens 800 in the run, 900 now" in refused.output and "new -o folder" in refused.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "run" / "reviews").iterdir()} == before
    assert review(*args, "--max-tokens", "800", "--resume").exit_code == 0


def test_resume_help_no_longer_promises_nothing_is_recomputed():
    from cycleresearcher.cli import app

    text = " ".join(CliRunner().invoke(app, ["review", "run", "--help"], env={"COLUMNS": "200"}).output.split())
    assert "nothing is recomputed" not in text and "Other settings are refused" in text


def test_a_retriever_outside_best_mode_gets_a_note(tmp_path):
    script = (DATA / "own_deep_fast.txt").read_text(encoding="utf-8")
    result = review(
        DATA / "papers" / "notes.txt", "--reviewer", "deepreviewer", "--mode", "fast", "--retriever", "none",
        "--engine", FAKE_ENGINE, "--engine-opt", f"script={script}", "-o", tmp_path / "run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Note: --retriever applies to DeepReviewer's best mode" in " ".join(result.output.split())


def test_failed_requests_name_the_run_not_a_reviews_folder_never_made(tmp_path):
    with socket.socket() as s:  # a port nothing listens on: every request is refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = review(
        DATA / "papers" / "notes.txt", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m",
        "--engine-opt", "max_retries=0", "-o", tmp_path / "run",
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert not (tmp_path / "run" / "reviews").exists()
    assert "Reviews:" not in text and f"Run: {tmp_path / 'run'}" in text and "--resume" in text


def _zip_named_pdf(folder: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("word/document.xml", "<w:document>draft</w:document>")
    path = folder / "draft.pdf"
    path.write_bytes(buffer.getvalue())
    return path


def _child(*args: object) -> str:
    env = child_env(COLUMNS="400", NO_COLOR="1")
    env.pop("CYCLERESEARCHER_QUIET_READERS", None)  # as in a user's shell: the CLI sets it itself
    env.pop("CYCLERESEARCHER_VERBOSE", None)
    done = subprocess.run(
        [sys.executable, "-m", "cycleresearcher", *map(str, args)], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    return done.stdout + done.stderr


def test_pypdf_log_lines_stay_hidden_unless_verbose(tmp_path):
    pdf = _zip_named_pdf(tmp_path)
    quiet = _child("review", pdf, "-o", tmp_path / "a")
    assert "not a readable PDF" in quiet and "invalid pdf header" not in quiet, quiet
    loud = _child("--verbose", "review", pdf, "-o", tmp_path / "b")
    assert "invalid pdf header" in loud
