"""A PDF is right or says it is not: the log read for errors and undefined citations/references,
the status in paper.json / paper.md / the CLI summary, the repairs of model LaTeX (colours,
macros that hide text, stray and unclosed braces, tables narrower than their rows, chat tokens)
and two real compiles of broken model text."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.errors import InputError
from cycleresearcher.paper import Paper
from cycleresearcher.paper.export import build_main_tex, export_latex_project
from cycleresearcher.paper.export.compile import log_problems
from cycleresearcher.paper.export.repair import spec_columns, strip_chat_tokens, widen_tabulars
from cycleresearcher.paper.export.rescue import colour_fallbacks, hides_text, rescue_definitions
from cycleresearcher.paper.record import PdfStatus
from researcher_outputs import RESULTS, STAGE1, TURN5

needs_tex = pytest.mark.skipif(
    shutil.which("pdflatex") is None or shutil.which("bibtex") is None or shutil.which("pdftotext") is None,
    reason="pdflatex/bibtex/pdftotext not installed",
)

BIB = (
    "@article{smith2020sparse,\n  title={Sparse attention at scale},\n  author={Smith, Ann},\n  year={2020}\n}\n"
    "@article{lee2021routing,\n  title={Routing tokens},\n  author={Lee, Bo},\n  year={2021}\n}\n"
)


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


# ----------------------------------------------------------------------------- the log, the status


def test_log_problems_reads_errors_and_undefined_citations_and_references() -> None:
    log = (
        "(./main.tex\n! Package xcolor Error: Undefined color `green(ncs)'.\nl.12 ...\n"
        "LaTeX Warning: Citation `smith2020sparse' on page 1 undefined on input line 40.\n"
        "Package natbib Warning: Citation `lee2021routing' on page 2 undefined on input line 41.\n"
        "LaTeX Warning: Citation `smith2020sparse' on page 3 undefined on input line 50.\n"
        "LaTeX Warning: Reference `tab:main' on page 2 undefined on input line 44.\n"
    )
    assert log_problems(log) == [
        "Package xcolor Error: Undefined color `green(ncs)'.",
        "2 undefined citation(s): smith2020sparse, lee2021routing",
        "1 undefined reference(s): tab:main",
    ]
    assert log_problems("(./main.tex)\nOutput written on main.pdf (3 pages).\n") == []


def test_pdf_status_labels_and_round_trip() -> None:
    ok = PdfStatus("ok")
    bad = PdfStatus("problems", ("Undefined control sequence.", "3 undefined citation(s): a, b, c"))
    assert ok.label() == "yes" and ok.ok and not bad.ok
    assert bad.label() == "PDF with problems: Undefined control sequence. (+1 more)"
    assert PdfStatus("failed", ("Emergency stop.",)).label() == "no: Emergency stop."
    paper = Paper(title="T", pdf_status=bad)
    again = Paper.from_dict(json.loads(json.dumps(paper.to_dict())))
    assert again.pdf_status == bad and again.to_dict()["pdf_status"]["label"].startswith("PDF with problems")
    assert Paper.from_dict({"title": "T"}).pdf_status is None
    with pytest.raises(InputError, match="pdf_status"):
        Paper.from_dict({"title": "T", "pdf_status": {"state": "fine"}})


# ----------------------------------------------------------------------------- repairs (no TeX)


def test_colour_fallbacks_define_only_names_no_package_has() -> None:
    body = r"\textcolor{green(ncs)}{x} \cellcolor{Navy!20} \fcolorbox{darkgrey(x11)}{red!5}{y} \color{blue}"
    defs = colour_fallbacks(body)
    # each goes through \@ifundefinedcolor at \begin{document}: Navy (svgnames) keeps its own
    assert r"\CRcolourfallback{green(ncs)}{green}" in defs
    assert r"\CRcolourfallback{darkgrey(x11)}{darkgray}" in defs
    assert r"\CRcolourfallback{Navy}{gray}" in defs
    assert "{blue}" not in defs and "{red}" not in defs and "{x}" not in defs  # base colours, text
    assert colour_fallbacks("no colour here") == ""
    log = "! Package xcolor Error: Undefined color `mauve(web)'.\n"
    assert r"\CRcolourfallback{mauve(web)}{gray}" in rescue_definitions(log)


def test_a_macro_that_hides_text_drops_its_argument() -> None:
    body = "\\remove{old text}\n\\hl{kept}\n\\note{A\n\nB}\n\\later{x \\end{proof}}"
    assert hides_text("\\remove", body)  # its name
    assert hides_text("\\note", body)  # a paragraph in its argument
    assert hides_text("\\later", body)  # ends an environment it did not begin
    assert not hides_text("\\hl", body)
    log = "! Undefined control sequence.\nl.3 \\later\n! Undefined control sequence.\nl.2 \\hl\n"
    defs = rescue_definitions(log, body)
    assert "\\providecommand{\\later}[1]{}" in defs and "\\providecommand{\\hl}{\\textbf" in defs


def test_tables_get_the_columns_their_rows_use_and_chat_tokens_go() -> None:
    assert spec_columns("l|cc*{3}{r}p{2cm}") == 7
    assert spec_columns("@{}l>{\\bfseries}c@{}") == 2
    body = "\\begin{tabular}{ll}\nA & B & C \\\\\n\\multicolumn{4}{c}{wide} \\\\\n\\end{tabular}"
    fixed, n = widen_tabulars(body)
    assert n == 1 and fixed.startswith("\\begin{tabular}{llcc}")
    same, n = widen_tabulars("\\begin{tabular}{lr}\na & 1 \\\\\n\\end{tabular}")
    assert n == 0 and same.startswith("\\begin{tabular}{lr}")
    text, n = strip_chat_tokens("end.\n<|im_start|>assistant<|im_sep|>\n\\section{Experiments}")
    assert n == 2 and "<|" not in text and "\\section{Experiments}" in text


def test_stray_and_unclosed_braces_are_repaired_where_they_are() -> None:
    latex = (
        "\\section{A}\n\\begin{itemize}\n\\item one\n}\n\\item two\n\\end{itemize}\n"
        "See\\footnote{\\url{https://example.org/cut.\n\nNext paragraph stays outside.\n"
    )
    source, warnings = build_main_tex(Paper(title="T", latex=latex), has_bib=False)
    assert "\\item one\n\n\\item two" in source  # the stray } is gone
    # the cut \url and \footnote close at the end of their paragraph, not at the end of the paper
    assert "cut.}}\n\nNext paragraph stays outside." in source
    assert any("unmatched '}'" in w for w in warnings) and any("unbalanced '{'" in w for w in warnings)


def test_refs_to_nowhere_print_their_label_and_no_bibliography_without_a_cite(tmp_path) -> None:
    latex = "\\section{A}\nBy Lemma~\\ref{lem:gone} and Section~\\ref{sec:a}.\n\\label{sec:a}"
    source, warnings = build_main_tex(Paper(title="T", latex=latex), has_bib=False)
    assert "Lemma~\\CRmissingref{lem:gone}" in source and "Section~\\ref{sec:a}" in source
    assert any("lem:gone" in w for w in warnings)
    res = export_latex_project(Paper(title="T", latex=latex), tmp_path, BIB, compile=False)
    assert "\\bibliography" not in res.main_tex.read_text() and res.bib is None  # no empty References
    cited = export_latex_project(
        Paper(title="T", latex=latex + " \\cite{ghost2020}"), tmp_path / "c", BIB, compile=False
    )
    bib = cited.bib.read_text()
    # a key the references lack gets an entry saying so, not a [?]
    assert "@misc{ghost2020," in bib and "Not among the references given to the model" in bib
    assert any("ghost2020" in w for w in cited.warnings)


# ----------------------------------------------------------------------------- real compiles

BROKEN = r"""\section{Introduction}
Sparse attention \citep{smith2020sparse} and routing \citet{lee2021routing} cut the cost.
Boxes in \textcolor{green(ncs)}{green} mark targets; \ourmethod{} wins (Table~\ref{tab:main}).
\begin{itemize}
\item first
}
\item second
\end{itemize}
\begin{table}[h]\centering
\caption{Main results}\label{tab:main}
\begin{tabular}{l}
A & 1 \\
\end{tabular}
\end{table}
"""


@pytest.mark.tex
@needs_tex
def test_broken_model_text_still_gets_every_citation_and_reference(tmp_path) -> None:
    """An undefined colour and macro, a stray brace, a table narrower than its rows: the PDF has
    no [?] and no ??, and its status is right because its log is clean."""
    res = export_latex_project(Paper(title="Broken", latex=BROKEN), tmp_path, BIB)
    assert res.pdf is not None, res.log_excerpt
    text = _text(res.pdf)
    assert "[?" not in text and "??" not in text
    assert re.search(r"Sparse attention \[2\]", text) and "Lee [1]" in text  # plainnat sorts by author
    assert "Sparse attention at scale" in text and "Routing tokens" in text  # the bibliography
    assert "\\ourmethod" in text  # the placeholder names the macro
    assert res.status == PdfStatus("ok"), res.status
    assert any("\\ourmethod" in w for w in res.warnings)


@pytest.mark.tex
@needs_tex
def test_unrecoverable_error_says_pdf_with_problems_everywhere(tmp_path, bib) -> None:
    """A TeX error no rescue fixes: the PDF is kept, and the CLI summary, paper.json and paper.md
    say "PDF with problems" and name the error."""
    from cycleresearcher.research import STAGE1_STOP, CycleResearcher, ResearchSettings
    from support import FAKE_ENGINE
    from support.fake_engine import FakeEngine

    run = tmp_path / "run"
    researcher = CycleResearcher(engine=FakeEngine(STAGE1 + "\n" + STAGE1_STOP), run_dir=run)
    researcher.generate([bib], ResearchSettings(n=1, mode="two-stage", max_tokens=100))
    researcher.close()
    results = tmp_path / "results.json"
    results.write_text(json.dumps(RESULTS), encoding="utf-8")
    broken = TURN5.replace(
        "Ours reaches 10.1.", "Ours reaches 10.1.\n\\begin{itemize}text without an item\\end{itemize}"
    )
    result = CliRunner().invoke(
        app,
        [
            "research",
            "complete",
            str(run),
            "--results",
            str(results),
            "--engine",
            FAKE_ENGINE,
            "--model",
            "scripted",
            "--engine-opt",
            f"script={broken}",
        ],
    )
    assert result.exit_code == 0, result.output
    flat = " ".join(re.sub(r"[│┃║|]", " ", result.output).split())
    assert "PDF with problems: LaTeX Error: Something's wrong--perhaps a missing \\item." in flat, (
        result.output
    )
    [folder] = (run / "papers").iterdir()
    record = json.loads((folder / "paper.json").read_text())
    assert record["pdf_status"]["state"] == "problems"
    assert record["pdf_status"]["problems"][0] == "LaTeX Error: Something's wrong--perhaps a missing \\item."
    md = (folder / "paper.md").read_text()
    assert "> **PDF:** PDF with problems: LaTeX Error: Something's wrong" in md
    assert (folder / "latex" / "main.pdf").is_file() and (folder / "latex" / "main.log").is_file()
