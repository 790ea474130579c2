"""The paper as HTML (paper/export/html.py) is a paper export: it works without the web extra,
returns escaped HTML as text, and marks the numbers no supplied result grounds only in text."""

from __future__ import annotations

import json
import subprocess
import sys

from cycleresearcher.paper.export.html import mark_numbers, paper_sections

LATEX = r"""\title{T}
\begin{abstract}Short.\end{abstract}
\section{Method}\label{sec:m}
We follow \citet{lee2021} and see \Cref{tab:r}; $x_i^2 \geq 0$ </p><script>alert(1)</script>.
\section{Results}
\begin{table}\caption{Scores}\label{tab:r}
\begin{tabular}{lc} Model & Acc \\ Ours & 91.2 \end{tabular}\end{table}
We reach 91.2 and 73.5 points.
"""
BIB = "@article{lee2021, author={Lee, Ann}, title={X}, year={2021}}\n"


def test_sections_are_safe_html_text():
    sections = paper_sections({"latex": LATEX, "references_bib": BIB})
    assert [s.heading for s in sections] == ["Method", "Results"]
    method, results = (s.html for s in sections)
    assert type(method) is str  # the page, not the export, marks it safe for its templates
    assert "[Lee, 2021]" in method and "Table 1" in method and "x<sub>i</sub><sup>2</sup> ≥ 0" in method
    assert "<script>" not in method and "&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in method
    assert "<strong>Table 1.</strong> Scores" in results and "<td>91.2</td>" in results


def test_ungrounded_numbers_are_marked_in_the_results_part_only():
    results = r"\section{Results}" + "\nWe reach 91.2 and 73.5 points; 91.2 again."
    paper = {
        "latex": r"\section{Method} 73.5 is a number too." + "\n" + results,
        "results_latex": results,
        "ungrounded_numbers": [{"number": "73.5"}],
    }
    method, part = paper_sections(paper)
    assert not method.results_part and "<mark" not in method.html
    assert part.results_part
    assert part.html.count('<mark class="ungrounded"') == 1 and ">73.5</mark>" in part.html


def test_marking_never_touches_a_tag():
    rendered = '<td title="91.2">91.2</td>'
    assert mark_numbers(rendered, ["91.2"]) == (
        '<td title="91.2"><mark class="ungrounded" title="matches none of the results">91.2</mark></td>'
    )
    assert mark_numbers(rendered, ["abc", ""]) == rendered  # nothing that reads as a number


def test_rendering_loads_no_web_library():
    code = (
        "import sys, json\n"
        "from cycleresearcher.paper.export.html import paper_sections\n"
        f"paper_sections({{'latex': {LATEX!r}, 'references_bib': {BIB!r}}})\n"
        "print(json.dumps(sorted(m for m in ('markupsafe', 'jinja2', 'fastapi', 'starlette', 'typer') "
        "if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [], out.stderr


def test_starred_equations_are_not_numbered_and_align_rows_are():
    from cycleresearcher.paper.export.html import number_labels

    latex = (
        "\\begin{equation*} a \\end{equation*}\n"
        "\\begin{equation}\\label{e:one} b \\end{equation}\n"
        "\\begin{align} c \\\\ d \\nonumber \\\\ e \\label{e:three} \\\\ f \\begin{aligned} g \\\\ h \\end{aligned}"
        " \\label{e:four} \\end{align}"
    )
    assert number_labels(latex) == {"e:one": "1", "e:three": "3", "e:four": "4"}


def test_fields_render_like_the_body_and_a_users_bare_percent_stays():
    from cycleresearcher.paper.export.html import text_html

    assert text_html(r"A 9\% gain, $\pm$ 2 % model's aside") == '<p>A 9% gain, <span class="math">±</span> 2</p>'
    assert text_html("Top-1 at 95% of budget", comments=False) == "<p>Top-1 at 95% of budget</p>"
    assert text_html("<b>x</b> \\textbf{y}") == "<p>&lt;b&gt;x&lt;/b&gt; <strong>y</strong></p>"
