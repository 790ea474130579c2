"""The results in every export: LaTeX tables (booktabs, right-aligned numbers, safe escaping),
matplotlib figures in the PDF, Markdown, \\ref checks, the simulated label; real TeX compiles."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cycleresearcher.latex_json import read_json
from cycleresearcher.paper import Paper, complete_paper, parse_stage1
from cycleresearcher.paper.export import export_latex_project, export_paper, to_markdown

needs_tex = pytest.mark.skipif(
    shutil.which("latexmk") is None or shutil.which("pdftotext") is None,
    reason="latexmk/pdftotext not installed",
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

RESULTS = [
    {
        "name": "Accuracy of the sorting heuristics",
        "result": {
            "table": [
                ["Method", "Acc. (%)", "F1"],
                ["Bubble-\\textsc{Base}", "71.24", "0.683"],
                ["Shell", "74.90", "0.712"],
                ["Ours $\\pm$ std", "81.23 ± 0.4", "0.795"],
            ],
            "description": "Ours is best on both metrics (50% & more_under {braces}).",
        },
    },
    {
        "name": "Scaling with the input size",
        "result": {"table": [["Size", "Time (s)"], ["1000", "0.12"], ["10000", "1.57"], ["100000", "19.8"]]},
    },
    {"name": "Qualitative", "result": {"description": "Sorted outputs look right.", "notes": ["one run"]}},
]
RESULTS_LATEX = (
    "\\section{Results}\nOur method reaches 81.2\\% accuracy (Table~\\ref{tab:main}), against 74.9\\% "
    "for Shell, and sorts $10^5$ items in 19.8 s. Remarkably, it is 93.5\\% faster.\n"
    "\\section{Conclusion}\nSee Figure~\\ref{fig:results-1}.\n"
)


def _paper(simulated: bool = False) -> Paper:
    stage1 = Paper(
        title="Sorting, Revisited",
        latex="\\begin{abstract}We sort.\\end{abstract}\n\\section{Method}\nWe sort lists.",
        generated_text="x",
        results_simulated=False,
        meta={"stage": "awaiting_results"},
    )
    done = complete_paper(stage1, RESULTS, "```latex\n" + RESULTS_LATEX + "```")
    done.meta = {"stage": "complete"}
    done.results_simulated = simulated
    done.id = "sorting"
    return done


def _pdftotext(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return out.stdout


def test_main_tex_has_the_tables_figures_and_safe_cells(tmp_path) -> None:
    paper = _paper()
    paper.experimental_results = json.loads(json.dumps(RESULTS))
    paper.experimental_results[0]["result"]["table"].append(["\\input{/etc/passwd}", "1", "2"])
    res = export_latex_project(paper, tmp_path, None, compile=False)
    tex = res.main_tex.read_text()
    assert "\\section*{Experimental results as supplied}" in tex
    assert "\\begin{tabular}{lrr}" in tex and "\\toprule" in tex and "\\bottomrule" in tex
    assert "Bubble-\\textsc{Base} & 71.24 & 0.683 \\\\" in tex
    assert "$\\pm$ std & 81.23 \\ensuremath{\\pm} 0.4" in tex
    assert "50\\% \\& more\\_under \\{braces\\}" in tex
    assert "\\textbackslash{}input\\{/etc/passwd\\}" in tex and "\\input{/etc" not in tex
    assert "\\caption{Accuracy of the sorting heuristics}" in tex and "\\label{tab:results-1}" in tex
    assert [f.kind for f in res.figures] == ["bar", "line"]  # method comparison, size sweep
    assert "\\includegraphics[width=0.8\\linewidth]{figures/results-1.png}" in tex
    assert (tmp_path / "figures" / "results-2.png").stat().st_size > 1000
    # the text's dangling Table~\ref{tab:main} is carried by the first supplied table (no word in
    # common: the first by order); fig:results-1 is ours and resolves
    assert "\\label{tab:results-1}\\label{tab:main}" in tex
    assert res.unresolved_refs == [] and not any("defined nowhere" in w for w in res.warnings)


def test_simulated_label_on_every_table_and_figure(tmp_path) -> None:
    res = export_latex_project(_paper(simulated=True), tmp_path, None, compile=False)
    tex = res.main_tex.read_text()
    captions = [line for line in tex.splitlines() if line.startswith("\\caption{")]
    assert len(captions) == 4  # two tables, two figures
    assert all("Simulated by the model, not measured." in c for c in captions)
    assert "Experimental results (simulated by the model)" in tex
    md = to_markdown(_paper(simulated=True), res.figures, "latex/figures")
    labels = [line for line in md.splitlines() if line.startswith(("*Table:", "*Figure:"))]
    assert len(labels) == 4 and all("Simulated by the model, not measured." in line for line in labels)


def test_markdown_has_tables_figures_and_ungrounded_numbers(tmp_path) -> None:
    paper = _paper()
    assert [n["number"] for n in paper.ungrounded_numbers] == ["93.5"]
    info = export_paper(paper, tmp_path, pdf=False)
    md = (Path(info["dir"]) / "paper.md").read_text()
    assert "| Bubble-\\textsc{Base} | 71.24 | 0.683 |" in md
    assert "![Accuracy of the sorting heuristics: bar chart" in md and "(latex/figures/results-1.png)" in md
    assert "## Numbers not found in the results" in md and "- **93.5**:" in md
    assert "3 of 4 numbers" in md
    assert info["ungrounded"] == 1 and info["results_simulated"] is False


@pytest.mark.tex
@needs_tex
def test_pdf_holds_the_tables_and_figures(tmp_path) -> None:
    res = export_latex_project(_paper(), tmp_path, None)
    assert res.pdf is not None, res.log_excerpt
    text = _pdftotext(res.pdf)
    for number in ("71.24", "74.90", "0.795", "19.8", "100000"):
        assert number in text
    assert "Bubble-BASE" in text or "Bubble-Base" in text  # \textsc kept, not a TAB + "extsc"
    assert "Accuracy of the sorting heuristics: bar chart of the table’s numbers." in text
    assert "Scaling with the input size: line chart" in text
    # the figures are really in the PDF: pdfimages lists them
    images = subprocess.run(["pdfimages", "-list", str(res.pdf)], capture_output=True, text=True).stdout
    assert len([line for line in images.splitlines()[2:] if line.strip()]) >= 2
    ARTIFACTS.mkdir(exist_ok=True)
    page = next(
        p
        for p in range(1, 10)
        if "bar chart" in subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), str(res.pdf), "-"],
                                         capture_output=True, text=True).stdout
    )  # fmt: skip
    subprocess.run(
        ["pdftoppm", "-f", str(page), "-l", str(page), "-png", "-r", "80", "-singlefile", str(res.pdf),
         str(ARTIFACTS / "results_page")],
        check=True,
    )  # fmt: skip
    assert (ARTIFACTS / "results_page.png").stat().st_size > 10_000


@pytest.mark.tex
@needs_tex
def test_training_record_results_compile(fixtures_dir, tmp_path) -> None:
    msgs = json.loads((fixtures_dir / "research" / "conversation_001.json").read_text())["messages"]
    stage1 = parse_stage1(msgs[2]["content"])
    results = read_json(msgs[3]["content"][len("## Experimental_results\n\n```json\n") : -3])
    paper = complete_paper(stage1, results, msgs[4]["content"])
    res = export_latex_project(paper, tmp_path, None)
    assert res.pdf is not None, res.log_excerpt
    text = _pdftotext(res.pdf)
    section = text[text.index("Experimental results as supplied") :]
    assert "CofiPara-Msd" in text and "85.70" in text and "extsc" not in text
    # the model's own table shows the supplied numbers: the section refers to it, once per table
    assert section.count("(in the text)") == 3 and "??" not in text and "[?" not in text
    assert "Multimodal Sarcasm Target Identification (MSTI): bar chart" in section.replace("\n", " ")
    assert len(res.figures) == 3


def test_which_tables_get_which_figure() -> None:
    from cycleresearcher.paper.export.figures import plan
    from cycleresearcher.paper.results import validate_results

    def kind(table):
        [item] = validate_results([{"name": "T", "result": {"table": table}}])
        found = plan(item)
        return found and (found[0], found[2])

    assert kind([["Method", "Acc"], ["A", "1.0"], ["B", "2.0"]]) == ("bar", [1])
    assert kind([["Epochs", "Loss", "Acc"], ["1", "0.9", "50"], ["5", "0.5", "70"], ["10", "0.3", "80"]]) == (
        "line",
        [1, 2],
    )
    # Dataset + a repeated setting name the rows; the numbers after them are the series
    assert kind(
        [
            ["Data", "H", "X", "Y"],
            ["a", "96", "0.1", "0.2"],
            ["a", "192", "0.3", "0.4"],
            ["b", "96", "0.5", "0.6"],
        ]
    ) == (
        "bar",
        [2, 3],
    )
    assert kind([["Paper", "Setting"], ["A", "Full"], ["B", "Bandit"]]) is None  # no numbers
    assert kind([["Method", "Acc"], ["A", "1.0"]]) is None  # one row: nothing to compare


def test_charts_keep_one_quantity_per_axis_and_full_labels(tmp_path) -> None:
    from cycleresearcher.paper.export.figures import _axis_label, _by_scale, _row_label, plot_result_tables
    from cycleresearcher.paper.results import validate_results

    header = ["Method", "Accuracy (%)", "F1 (%)", "Memory (GB)", "Latency (ms)"]
    rows = [
        ["Full attention", "81.2", "79.0", "24.0", "120"],
        ["Routed block attention (ours)", "80.9", "78.1", "9.5", ""],
        ["Sliding window", "77.0", "75.2", "8.1", "45"],
    ]
    # accuracy and F1 share an axis (one quantity, one unit); memory and latency get their own
    assert _by_scale(rows, [1, 2, 3, 4], header) == [[1, 2], [3], [4]]
    assert (
        _axis_label(header, [1, 2], "score") == "score (%)"
        and _axis_label(header, [3], "memory") == "Memory (GB)"
    )
    assert _row_label(rows[1], 1).replace("\n", " ") == "Routed block attention (ours)"  # wrapped, never cut
    items = validate_results([{"name": "Efficiency", "result": {"table": [header, *rows]}}])
    [fig] = plot_result_tables(items, tmp_path)
    assert fig.path.stat().st_size > 5000
