"""The PDFs of the released 12B model's real outputs: every one compiles with no unresolved
citation (``[?]``) or reference (``??``) in its text, and the status the export gives (the CLI's
pdf column, paper.json) is true to the log of its last pass. Each compile costs seconds: one
test per real output, one of them through the CLI and the replay server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.paper.export import export_latex_project
from cycleresearcher.paper.export.compile import log_problems
from support.replay import (
    RESEARCHER,
    completed_paper,
    conversation,
    fenced,
    generated_body_paper,
    references_file,
)

pytestmark = [
    pytest.mark.tex,
    pytest.mark.skipif(
        shutil.which("pdflatex") is None
        or shutil.which("bibtex") is None
        or shutil.which("pdftotext") is None,
        reason="pdflatex/bibtex/pdftotext not installed",
    ),
]


def _unresolved(pdf) -> tuple[list[str], list[str]]:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\[\s*\?[^\]]*\]", text), re.findall(r".{0,30}\?\?.{0,10}", text)


def _assert_right(latex, log_text: str | None = None) -> None:
    assert latex.pdf is not None, latex.log_excerpt
    cites, refs = _unresolved(latex.pdf)
    assert cites == [] and refs == [], (cites[:5], refs[:5])
    # the status is the log's verdict: ok here, and ok only because the log has nothing wrong
    assert latex.status.state == "ok", latex.status
    if log_text is not None:
        assert log_problems(log_text) == []


@pytest.mark.parametrize("record", [2, 3, 4, 5, 6])
def test_every_completed_record_compiles_with_every_citation_and_reference(fixtures_dir, tmp_path, record):
    paper = completed_paper(fixtures_dir, record)
    latex = export_latex_project(paper, tmp_path / "latex")
    _assert_right(latex)
    main = latex.main_tex.read_text()
    # each supplied table appears once: in the model's own table (then referred to) or ours
    for item in paper.experimental_results:
        if (item.get("result") or {}).get("table"):
            index = paper.experimental_results.index(item) + 1
            ours = f"\\label{{tab:results-{index}}}" in main
            assert main.count(f"\\label{{tab:results-{index}}}") <= 1 and (ours or "(in the text)" in main)


def test_generated_body_compiles_with_every_citation(fixtures_dir, tmp_path):
    latex = export_latex_project(generated_body_paper(fixtures_dir), tmp_path / "latex")
    _assert_right(latex)
    assert any("chat-template token" in w for w in latex.warnings)  # <|im_start|> left in the text
    assert not latex.unresolved_refs


def test_complete_through_the_cli_says_yes_only_for_a_right_pdf(replay, fixtures_dir, tmp_path):
    """Record 1 (its `green(ncs)` colour stopped latexmk before the bibliography: 52 [?] and a
    "yes"): `research complete` with the record's real results, PDF on."""
    msgs = conversation(fixtures_dir, 1)
    refs = references_file(fixtures_dir, 1, tmp_path)
    run = tmp_path / "run"
    args = ["--engine", "openai", "--base-url", replay.url, "--model", RESEARCHER]
    first = CliRunner().invoke(app, ["research", "generate", str(refs), *args, "--two-stage", "-o", str(run)])
    assert first.exit_code == 0, first.output
    results = tmp_path / "results.json"
    results.write_text(fenced(msgs[3]["content"], "json"), encoding="utf-8")
    done = CliRunner().invoke(app, ["research", "complete", str(run), "--results", str(results), *args])
    assert done.exit_code == 0, done.output
    [folder] = (run / "papers").iterdir()
    record = json.loads((folder / "paper.json").read_text())
    assert record["pdf_status"] == {"state": "ok", "problems": [], "label": "yes"}
    assert re.search(r"│\s*yes\s*│", done.output), done.output  # the pdf column
    cites, refs_left = _unresolved(folder / "latex" / "main.pdf")
    assert cites == [] and refs_left == []
    assert "PDF with problems" not in (folder / "paper.md").read_text()
    main = (folder / "latex" / "main.tex").read_text()
    assert "\\CRcolourfallback{green(ncs)}{green}" in main
    # the model's three tables show the supplied ones (Table~\ref{msd_res}, ...): referred to,
    # not printed twice; so is its case-study figure, the one the results describe
    section = main[main.index("Experimental results as supplied") :]
    assert "Table~\\ref{msd_res} (in the text)." in section and "\\begin{table}" not in section
    assert "Figure~\\ref{case_study} (in the text; described, no image supplied)." in section
    assert "Figure described in the results" not in main and "Image not supplied" not in main
    # grounding explains the record's derived numbers (EM and AP50 gains averaged over dev/test)
    derived = {d["number"]: d["derivation"] for d in record["grounding"]["derived"]}
    assert derived["3.26"] == "mean(31.96, 32.26) - mean(28.19, 29.51) = 3.26"
    assert derived["14.88"] == "mean(34.29, 32.49) - mean(19.77, 17.26) = 14.88"
    assert record["ungrounded_numbers"] == []
