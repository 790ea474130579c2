"""Exports of a Paper: JSON, Markdown, and a LaTeX project compiled to PDF.

Every export says the text was written by a language model, and, when the model wrote its own
"results" (EOS ignored), that they were simulated, not measured (in the PDF: a box under the
title and a header on every page).

    disclosure.py     the notices every export carries
    jsonfile.py       paper.json
    markdown.py       paper.md
    results_latex.py  the supplied results as LaTeX tables and figures (charts, described figures)
    figures.py        plots of the result tables (matplotlib, imported when a table is plotted)
    main_tex.py       main.tex: preamble, disclosure box, the model's LaTeX made safe
    compile.py        pdflatex + BibTeX passes in a sandbox, in a process group that never outlives
                      the compile; the log read for what makes a PDF wrong
    rescue.py         placeholder definitions for what the first pass found undefined, colour fallbacks
    repair.py         model slips TeX would report: chat tokens, tables narrower than their rows
    labels.py         the supplied results tied to the model's text: tables it already shows, the
                      labels its dangling refs mean, refs to nowhere printed by label
    project.py        the LaTeX project folder: main.tex, references.bib, plots, main.pdf
    run_files.py      the per-paper files of a run directory
    html.py           the paper as the web page shows it: sections as escaped HTML (citations as
                      labels, tables as tables, numbered floats), html_math.py its math, offline
"""

from __future__ import annotations

from .compile import COMPILE_TIMEOUT_S
from .disclosure import DISCLOSURE, SIMULATED_NOTICE
from .jsonfile import export_json
from .main_tex import build_main_tex, cited_keys
from .markdown import export_markdown, to_markdown
from .project import LatexExport, export_latex_project, pdf_failure
from .run_files import export_paper

__all__ = [
    "COMPILE_TIMEOUT_S",
    "DISCLOSURE",
    "SIMULATED_NOTICE",
    "LatexExport",
    "build_main_tex",
    "cited_keys",
    "export_json",
    "export_latex_project",
    "export_markdown",
    "export_paper",
    "pdf_failure",
    "to_markdown",
]
