"""Exit codes that tell the truth (README "Exit codes"): 3 when a request failed or nothing usable
came out, 2 for bad input (including an existing run without --resume). A dead server is a
closed 127.0.0.1 port; a failed request writes no paper.json / .md / .tex / PDF and no review."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import free_port
from cycleresearcher.cli import app
from cycleresearcher.store import RunStore
from support import FAKE_ENGINE

runner = CliRunner()
STAGE1 = (
    "## Motivation\n\nLong contexts are expensive.\n\n## Main Idea\n\nCompress the keys.\n\n"
    "```latex\n\\title{Key Compression}\n\\begin{abstract}We compress keys.\\end{abstract}\n"
    "\\section{Introduction}\nIntro.\n```\n\n## Experimental Setup\n\n"
    '```json\n[{"name": "Main", "description": "Compare perplexity."}]\n```\n'
)


@pytest.fixture()
def bib(tmp_path):
    path = tmp_path / "refs.bib"
    path.write_text(
        "@article{vaswani2017attention,\n  title={Attention is all you need},\n  author={Vaswani, Ashish},\n"
        "  year={2017},\n  abstract={The dominant sequence transduction models are based on recurrent networks.}\n}\n",
        encoding="utf-8",
    )
    return path


def dead_server() -> list[str]:
    """A closed port on 127.0.0.1, no retries: every request fails at once (connection refused)."""
    return [
        "--base-url",
        f"http://127.0.0.1:{free_port()}/v1",
        "--model",
        "foo",
        "--engine-opt",
        "max_retries=0",
    ]


def test_generate_against_a_dead_server_exits_3_and_exports_nothing(bib, tmp_path):
    run = tmp_path / "run"
    args = ["research", "generate", str(bib), "-n", "2", *dead_server(), "-o", str(run)]
    result = runner.invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "2 sample(s) failed" in result.output and "Connection refused" in result.output
    assert not (run / "papers").exists() or not any((run / "papers").rglob("*"))
    with RunStore(run) as store:
        assert store.items("paper") == [], "a failed sample must not be stored as a paper"
        assert [r["status"] for r in store.request_rows("research")] == ["failed"]
    # an existing run is continued only with --resume; with it the failed request is retried
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--resume" in again.output and "another -o" in again.output
    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 3, resumed.output
    with RunStore(run) as store:
        assert store.request_rows("research")[0]["attempts"] == 2


def test_generate_resume_rule_with_a_working_engine(bib, tmp_path):
    run = tmp_path / "run"
    args = ["research", "generate", str(bib), "--engine", FAKE_ENGINE, "--engine-opt", f"script={STAGE1}",
            "--no-pdf", "-o", str(run)]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    [paper] = (run / "papers").iterdir()
    assert (paper / "paper.json").exists() and (paper / "latex" / "main.tex").exists()
    assert "pdf" in first.output and "not asked" in first.output
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "--resume" in refused.output
    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    with RunStore(run) as store:
        [row] = store.request_rows("research")
    assert row["status"] == "done" and row["attempts"] == 1, "--resume must not redo a finished request"


def test_an_empty_completion_is_a_failed_sample(bib, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(
        app, ["research", "generate", str(bib), "--engine", FAKE_ENGINE, "--no-pdf", "-o", str(run)]
    )
    assert result.exit_code == 3, result.output
    assert "empty completion" in result.output
    assert not (run / "papers").exists()


def test_complete_against_a_dead_server_exits_3_and_the_paper_keeps_waiting(bib, tmp_path):
    run = tmp_path / "run"
    gen = runner.invoke(
        app,
        ["research", "generate", str(bib), "--two-stage", "--engine", FAKE_ENGINE, "--engine-opt",
         f"script={STAGE1}", "-o", str(run)],
    )  # fmt: skip
    assert gen.exit_code == 0, gen.output
    results = tmp_path / "results.json"
    results.write_text(json.dumps([{"name": "Main", "result": {"table": [["a"], ["1"]]}}]))
    done = runner.invoke(
        app, ["research", "complete", str(run), "--results", str(results), *dead_server(), "--no-pdf"]
    )
    assert done.exit_code == 3, done.output
    assert "1 sample(s) failed" in done.output and "Connection refused" in done.output
    [paper] = (run / "papers").iterdir()
    assert not (paper / "latex").exists(), "no LaTeX export for a paper whose results turn failed"
    with RunStore(run) as store:
        [(_, data)] = store.items("paper")
    assert data["meta"]["stage"] == "awaiting_results"


def test_review_against_a_dead_server_exits_3_and_the_resume_rule(data_dir, tmp_path):
    run = tmp_path / "rev"
    paper = data_dir / "review_run" / "papers" / "graphmix.tex"
    args = ["review", str(paper), *dead_server(), "--context-length", "4096", "-o", str(run)]
    result = runner.invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "1 review(s) failed" in result.output and "Connection refused" in result.output
    assert not (run / "reviews").exists() or not any((run / "reviews").iterdir())
    # the run holds no review yet, but it is a run: continuing it needs --resume
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--resume" in again.output
    assert runner.invoke(app, [*args, "--resume"]).exit_code == 3


def test_a_pdf_that_did_not_compile_is_reported_with_the_tex_error():
    from pathlib import Path

    from cycleresearcher.cli._research_run import _pdf_cell
    from cycleresearcher.paper.export import LatexExport, pdf_failure

    failed = LatexExport(
        Path("main.tex"), None, None, log_excerpt="! Undefined control sequence.\nl.12 \\foo\n",
        warnings=["LaTeX compile failed: no PDF; see the log excerpt"],
    )  # fmt: skip
    assert pdf_failure(failed) == "Undefined control sequence."
    assert (
        _pdf_cell({"pdf": None, "pdf_error": pdf_failure(failed)}, True) == "no: Undefined control sequence."
    )
    missing = LatexExport(Path("main.tex"), None, None, warnings=["latexmk/pdflatex not found: main.tex written, no PDF (install TeX Live and latexmk)"])  # fmt: skip
    assert "latexmk/pdflatex not found" in pdf_failure(missing)
    assert _pdf_cell({"pdf": "x/main.pdf"}, True) == "yes"


@pytest.mark.parametrize(
    ("reports", "code", "says"),
    [
        ([{"round": 1, "pairs": 2, "generation_failed": 0}], 0, None),
        ([{"round": 1, "pairs": 2, "generation_failed": 1}], 3, "1 sampled paper(s) failed"),
        ([{"round": 1, "pairs": 0, "generation_failed": 0}], 3, "No round had a preference pair"),
    ],
)
def test_train_exits_3_when_samples_failed_or_nothing_was_trained(monkeypatch, reports, code, says):
    from pathlib import Path

    import cycleresearcher.train.rounds as rounds

    base = {"checkpoint": "ckpt", "rewards": {"mean": 0.5}}
    monkeypatch.setattr(rounds, "run_cycle", lambda cfg, log: [base | r for r in reports])
    example = Path(__file__).parents[1] / "examples" / "cycle_cpu.toml"
    result = runner.invoke(app, ["train", str(example), "-o", "unused"])
    assert result.exit_code == code, result.output
    if says:
        assert says in result.output
