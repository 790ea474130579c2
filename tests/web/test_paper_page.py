"""The paper page reads like a paper: LaTeX rendered (citations, refs, math, tables, lists),
everything the model wrote escaped, and the results form near the top for a two-stage paper."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from cycleresearcher.store import RunStore
from cycleresearcher.web.app import create_app

LATEX = r"""\title{A \textbf{Title}}
\begin{abstract}Short.\end{abstract}
\section{Introduction}\label{sec:intro}
Transformers \citep{vaswani2017} beat \cite{smith2020} with $\alpha^{2} \leq \frac{1}{n}$,
\textbf{bold} and \emph{stressed} words </textarea><script>alert(1)</script>.
See Table~\ref{tab:main} and Figure~\ref{fig:plot}, \Cref{sec:intro}.
\begin{itemize}\item first point \item second point\end{itemize}
\begin{figure}\centering\includegraphics{a.png}\caption{The plot.}\label{fig:plot}\end{figure}
\section{Results}
\begin{figure}\caption{Another.}\label{fig:two}\end{figure}
\begin{table}[t]\caption{Main results}\label{tab:main}
\begin{tabular}{lc}\toprule Model & Accuracy \\ \midrule Ours & 91.2 \\ \bottomrule\end{tabular}
\end{table}
Figure~\ref{fig:two} shows it.
"""
BIB = (
    "@article{vaswani2017, author={Vaswani, Ashish and Shazeer, Noam and Parmar, Niki},"
    " title={Attention Is All You Need}, year={2017}}\n"
    "@article{smith2020, author={John Smith and Jane Doe}, title={A}, year={2020}}\n"
)


def page(tmp_path: Path, **paper) -> str:
    app = create_app(tmp_path / "runs")
    with RunStore(tmp_path / "runs" / "r1") as store:
        store.put("paper", "p1", {"title": "A Title", "latex": LATEX, "references_bib": BIB, **paper})
    client = TestClient(app, base_url="http://127.0.0.1")
    r = client.get("/runs/r1/papers/p1")
    assert r.status_code == 200, r.text[:300]
    return r.text


def test_sections_render_as_a_paper_not_raw_latex(tmp_path):
    html = page(tmp_path)
    assert "<h2>Introduction</h2>" in html
    assert "[Vaswani et al., 2017]" in html and "[Smith and Doe, 2020]" in html
    assert "\\citep" not in html and "\\textbf" not in html and "\\begin{itemize}" not in html
    assert "<strong>bold</strong>" in html and "<em>stressed</em>" in html
    assert "α<sup>2</sup> ≤ 1/n" in html
    assert "<li><p>first point</p></li>" in html
    assert "Table&nbsp;1 and Figure&nbsp;1, Section 1" in html and "Figure&nbsp;2 shows it" in html
    assert "<th>Model</th><th>Accuracy</th>" in html and "<td>91.2</td>" in html
    assert "<strong>Table 1.</strong> Main results" in html
    # hostile text stays text
    assert "</textarea><script>alert(1)" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_two_stage_paper_has_the_results_form_near_the_top(tmp_path):
    html = page(tmp_path, meta={"stage": "awaiting_results"})
    form, intro = html.find('id="complete"'), html.find("<h2>Introduction</h2>")
    assert form > 0 and intro > 0 and form < intro


def test_hostile_nesting_and_unclosed_math_still_give_a_page(tmp_path):
    nest = "\\begin{itemize}\\item " * 500 + "<b>x</b>" + "\\end{itemize}" * 500
    latex = "\\section{A}\n" + nest + "\n\\section{B}\n$\\frac{" + "{" * 3000 + "<script>"
    app = create_app(tmp_path / "runs")
    with RunStore(tmp_path / "runs" / "r1") as store:
        store.put("paper", "p1", {"title": "T", "latex": latex})
    html = TestClient(app, base_url="http://127.0.0.1").get("/runs/r1/papers/p1").text
    assert "<h2>A</h2>" in html and "<h2>B</h2>" in html
    assert "<b>x</b>" not in html and "<script>" not in html.split("<h2>A</h2>")[1].split("</article>")[0]


def test_the_page_shows_the_papers_html_export(tmp_path):
    """The page renders the paper with paper/export/html.py (one renderer, no copy in web/)."""
    from cycleresearcher.paper.export.html import paper_sections

    html = page(tmp_path)
    sections = paper_sections({"latex": LATEX, "references_bib": BIB})
    assert len(sections) == 2
    for section in sections:
        assert section.html in html, section.heading
