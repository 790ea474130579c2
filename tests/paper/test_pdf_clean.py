"""PDFs read cleanly: margin line numbers, glued words, placeholder metadata titles, titles over
two lines, and our own export read as the paper it holds. The PDFs are made here with TeX Live
(the lineno package, hyperref's metadata) and with our own exporter."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cycleresearcher.paper import Paper
from cycleresearcher.paper.export import DISCLOSURE, SIMULATED_NOTICE
from cycleresearcher.paper.pdf_lines import count_line_number_tokens, strip_line_numbers
from cycleresearcher.paper.pdf_title import is_placeholder
from cycleresearcher.paper.pdf_words import spaceless_tokens, split_glued
from cycleresearcher.paper.readers import read_document

needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
needs_latexmk = pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk is not installed")

PROSE = (
    "Reviewing a manuscript means reading what its authors wrote and nothing else. "
    "Margin numbers help a reviewer point at a line, yet they are no part of the argument, "
    "and a reader that keeps them glued to the words misleads every later stage of the "
    "pipeline. We therefore study how extracted text should be cleaned before review, with "
    "particular attention to hyphenation, numbering and the layout of two-column pages. "
)


def _manuscript(tmp_path: Path, name: str, preamble: str, title: str, body: str) -> Path:
    tex = tmp_path / f"{name}.tex"
    tex.write_text(
        "\\documentclass[twocolumn]{article}\n\\usepackage[T1]{fontenc}\n" + preamble + "\n"
        f"\\title{{{title}}}\n\\author{{Anonymous}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n"
        + body
        + "\n\\end{document}\n"
    )
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", tex.name],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    pdf = tmp_path / f"{name}.pdf"
    assert pdf.exists(), (tmp_path / f"{name}.log").read_text()[-2000:]
    return pdf


@pytest.mark.tex
@needs_pdflatex
@pytest.mark.parametrize("option", ["", "[switch]"])  # numbers in the left margin; in both margins
def test_line_numbered_manuscript_with_placeholder_title(tmp_path, option):
    body = (
        "\\begin{abstract}\n"
        + PROSE
        + "\\end{abstract}\n\\section{Introduction}\n"
        + PROSE * 6
        + "\n\\section{Method}\n"
        + PROSE * 6
        + "\n\\section{Conclusion}\n"
        + PROSE * 3
    )
    pdf = _manuscript(
        tmp_path,
        "submission",
        f"\\usepackage{option}{{lineno}}\\linenumbers\n\\usepackage[pdftitle={{Title}}]{{hyperref}}",
        "Reading Line-Numbered Manuscripts\\\\without Their Margin Numbers",
        body,
    )
    doc = read_document(pdf)
    # the metadata says "Title"; the page's title spans two lines and is one title
    assert doc.title == "Reading Line-Numbered Manuscripts without Their Margin Numbers"
    assert count_line_number_tokens(doc.text) == 0
    lines = {ln.strip() for ln in doc.text.split("\n")}
    assert {"1 Introduction", "2 Method", "3 Conclusion"} <= lines
    # no number left glued to a word, and the words TeX hyphenated at a line end are whole again
    assert not any(ch.isdigit() for ln in doc.text.split("\n") if "Margin numbers" in ln for ch in ln)
    words = set(doc.text.split())
    assert {"hyphenation,", "pipeline.", "manuscript"} <= words
    assert not [w for w in words if w.endswith("-") and w[:-1].isalpha()]


@pytest.mark.tex
@needs_pdflatex
def test_unnumbered_paper_keeps_its_numbers(tmp_path):
    items = "".join(f"\\item Step {i} of the procedure is described here in words.\n" for i in range(1, 9))
    table = (
        "\\begin{tabular}{ll}\n" + "".join(f"{i} & {i * 7}\\\\\n" for i in range(1, 9)) + "\\end{tabular}\n"
    )
    pdf = _manuscript(
        tmp_path,
        "camera",
        "\\usepackage[pdftitle={Numbers That Belong to the Paper}]{hyperref}",
        "Numbers That Belong to the Paper",
        "\\section{Introduction}\n"
        + PROSE * 3
        + "\\begin{enumerate}\n"
        + items
        + "\\end{enumerate}\n"
        + table,
    )
    doc = read_document(pdf)
    assert doc.title == "Numbers That Belong to the Paper"  # a real metadata title wins
    # a table column 1..8 and list items are content: the document has no line numbering
    assert "Step 5 of the procedure" in doc.text
    assert "8 56" in doc.text or "856" in doc.text.replace(" ", "")


def test_line_numbers_glued_in_every_way_extractors_leave_them():
    acl = "\n".join(
        [
            "Abstract001",
            "Transformers commonly exhibit an attention002",
            "sink: disproportionately high attention to the003",
            "(i) a learned query bias, (ii) the first-layer trans-004",
            "formation of the positional encoding and (iii)005",
            "a quirk of any single training recipe.1006",
            "The practical stakes are significant. Attention 007",
            "008 sinks can reduce effective context use",
        ]
    )
    neurips = "\n".join(
        [
            "right-hand margins. Use 10 point type, with a vertical1",
            "The word Abstract must be centered, bold.2",
            "precede the abstract. The abstract must be limited.3",
            "1 Submission of papers to NeurIPS 20244",
            "Please read the instructions below carefully.5",
            "1.1 Style6",
        ]
    )
    (a, n), count = strip_line_numbers([acl, neurips])
    assert count == 14
    assert a.split("\n")[0] == "Abstract"
    assert "first-layer trans-\nformation" in a
    assert "training recipe.1\n" in a  # the footnote mark stays, the line number goes
    assert "Attention\nsinks can" in a
    assert "NeurIPS 2024\n" in n and n.endswith("1.1 Style")


def test_numbers_that_do_not_chain_are_kept():
    text = "\n".join(
        [
            "1 Introduction",
            "We trained for 10 epochs and 3 seeds.",
            "Results appear in Table 2",
            "with 95 percent confidence.",
            "1. first item",
            "2. second item",
            "3. third item",
        ]
    )
    assert strip_line_numbers([text]) == ([text], 0)


def test_spaceless_lines_are_split_and_real_words_are_kept():
    line = "Weproposetoousourcepartofcomputationstoaverificationparty, whilestillpreserving"
    fixed, n = split_glued(line)
    assert n == 2 and fixed.startswith("We propose") and fixed.endswith("while still preserving")
    fixed, _ = split_glued("NaturalLanguageProcessing(NLP)(Zangarietal., 2021)isafieldofstudy")
    assert fixed.startswith("Natural Language Processing (NLP) (Zangari et al., 2021) is a field of study")
    normal = (
        "stages and hyperparameters (Gu et al., 2025) improve interpretability with "
        "RandomForestClassifier, see https://github.com/someone/longrepositoryname and a@b.org"
    )
    assert split_glued(normal) == (normal, 0)
    # the benchmark's measure: two spaceless runs before, none after
    assert len(spaceless_tokens(line)) == 2 and spaceless_tokens(split_glued(line)[0]) == []


@pytest.mark.parametrize(
    "title",
    [
        "",
        "Title",
        "untitled",
        "Microsoft Word - paper_final.docx",
        "REVISED_PAPER",
        "main.tex",
        "A dual-driven approach in electricityâ&#x80;&#x93;heat systems",
    ],
)
def test_placeholder_titles(title):
    assert is_placeholder(title, "REVISED_PAPER")


def test_real_titles_are_not_placeholders():
    assert not is_placeholder("Optimized ZK verification of ECDSA signatures", "paper")
    assert not is_placeholder("Attention Is All You Need", "1706.03762")


def _our_paper() -> Paper:
    intro = (
        "Sparse routing lets a model spend its compute on the tokens that need it. "
        "We describe a router that learns which blocks of attention to keep, and show "
        "where it helps and where it does not. Prior systems such as the mixture of "
        "experts route whole tokens~\\cite{shazeer2017}; we route blocks of attention."
    )
    return Paper(
        title="Routed Block Attention for Long Documents",
        abstract="We route blocks of attention instead of whole tokens.",
        latex=(
            "\\title{Routed Block Attention for Long Documents}\n\\begin{abstract}\n"
            "We route blocks of attention instead of whole tokens.\n\\end{abstract}\n"
            "\\section{Introduction}\n" + intro + "\n\n\\section{Method}\n" + intro
        ),
        results_simulated=True,
        id="p1",
    )


@pytest.mark.tex
@needs_latexmk
def test_our_own_export_is_read_as_the_paper(tmp_path):
    from cycleresearcher.paper.export import export_paper

    info = export_paper(_our_paper(), tmp_path)
    pdf = Path(info["pdf"])
    assert pdf.name == "main.pdf" and (pdf.parent.parent / "paper.json").exists()

    # beside its paper.json: the paper itself, exactly, and the user is told so
    doc = read_document(pdf)
    assert doc.kind == "paper-json" and doc.path == str(pdf)
    assert doc.title == "Routed Block Attention for Long Documents"
    assert "\\section{Introduction}" in doc.text
    assert any("paper.json" in w for w in doc.warnings)

    # the PDF alone: the text without the marks our export added
    alone = tmp_path / "alone" / "main.pdf"
    alone.parent.mkdir()
    shutil.copy(pdf, alone)
    doc = read_document(alone)
    assert doc.kind == "pdf"
    assert doc.title == "Routed Block Attention for Long Documents"
    flat = " ".join(doc.text.split())
    assert "Sparse routing lets a model spend its compute" in flat
    for mark in (
        "Generated by CycleResearcher",
        "AI-generated draft",
        DISCLOSURE[:40],
        SIMULATED_NOTICE[:30],
        "[?]",
    ):
        assert mark not in flat, mark
    assert any("CycleResearcher export" in w for w in doc.warnings)


@pytest.mark.tex
@needs_latexmk
def test_a_paper_json_of_another_paper_is_not_used(tmp_path):
    import json

    from cycleresearcher.paper.export import export_paper

    info = export_paper(_our_paper(), tmp_path)
    pdf = Path(info["pdf"])
    other = json.loads((pdf.parent.parent / "paper.json").read_text())
    other["title"] = "A Different Paper Altogether"
    (pdf.parent.parent / "paper.json").write_text(json.dumps(other))
    doc = read_document(pdf)
    assert doc.kind == "pdf" and "Sparse routing" in " ".join(doc.text.split())
    assert any("another paper" in w for w in doc.warnings)


def test_hyphen_repair_keeps_compounds():
    from cycleresearcher.paper.pdf_text import clean_text

    text = "the trans-\nformation of a single-\nauthored, state-\nof-the-art model; interpret-\nability"
    assert (
        clean_text(text)
        == "the transformation of a single-authored, state-of-the-art model; interpretability"
    )
