"""`evaluate` on runs produced through the replay server: the paper-quality table of DeepReviewer's
real Fast / Standard / Best reviews, and the generate -> review -> evaluate chain on the 12B
model's papers."""

from __future__ import annotations

import csv
import json
from statistics import fmean

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from support.replay import CYCLEREVIEWER, DEEPREVIEWER, RESEARCHER, references_file


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def rows(path):
    with open(path, newline="") as fh:
        return {row["group"]: row for row in csv.DictReader(fh)}


def test_paper_quality_of_replayed_deepreviewer_runs(replay, fixtures_dir, tmp_path):
    papers = [fixtures_dir / "detect" / f"human_paper_{i:03d}.txt" for i in (1, 2)]
    for mode in ("fast", "standard", "best"):
        extra = ["--retriever", replay.root, "--best-variant", "authors"] if mode == "best" else []
        cli(
            "review", *papers, "--reviewer", "deepreviewer", "--mode", mode, "--engine", "openai",
            "--base-url", replay.url, "--model", DEEPREVIEWER, "-o", tmp_path / mode, *extra,
        )  # fmt: skip
    result = cli(
        "evaluate", "papers", *(tmp_path / m for m in ("fast", "standard", "best")), "-o", tmp_path / "eval"
    )

    expected = json.loads((fixtures_dir / "deepreviewer" / "expected.json").read_text())
    table = rows(tmp_path / "eval" / "papers.csv")
    assert set(table) == {"fast", "standard", "best"}
    for mode, row in table.items():
        items = [expected[f"deepreviewer_{mode}_{i:03d}.txt"] for i in (1, 2)]
        finals = [x["final_review"] for x in items]
        # a paper's ratings: its simulated reviewers', or the final rating alone (Fast mode)
        ratings = [
            [s["rating"] for s in x["simulated_reviewers"]] or [x["final_review"]["rating"]] for x in items
        ]
        assert (int(row["papers"]), int(row["failed"])) == (2, 0)
        assert float(row["avg_min"]) == pytest.approx(fmean(min(r) for r in ratings))
        assert float(row["avg_max"]) == pytest.approx(fmean(max(r) for r in ratings))
        assert float(row["avg_score"]) == pytest.approx(fmean(f["rating"] for f in finals))
        assert float(row["soundness"]) == pytest.approx(fmean(f["soundness"] for f in finals))
        accepted = sum(f["decision"] == "Accept" for f in finals)
        assert float(row["accept_rate"]) == pytest.approx(accepted / 2)
    # the values themselves: Fast 6.5 / 5.25, Standard 5.75 / 5.25, Best 5.5 / 4.5
    assert [float(table[m]["avg_score"]) for m in ("fast", "standard", "best")] == [5.875, 5.5, 5.0]
    md = (tmp_path / "eval" / "papers.md").read_text()
    assert "| standard | 2 |" in md and "standard" in result.output
    assert (tmp_path / "eval" / "papers_ratings.png").stat().st_size > 5000


def test_generate_review_evaluate_chain(replay, fixtures_dir, tmp_path):
    """Two 12B papers (records 1 and 5) reviewed by CycleReviewer (our format-A output: 6, 8, 10, 3)."""
    refs = [references_file(fixtures_dir, i, tmp_path / "refs") for i in (1, 5)]
    cli(
        "research", "generate", *refs, "--engine", "openai", "--base-url", replay.url,
        "--model", RESEARCHER, "--no-pdf", "-o", tmp_path / "research",
    )  # fmt: skip
    cli(
        "review", tmp_path / "research", "--engine", "openai", "--base-url", replay.url,
        "--model", CYCLEREVIEWER, "-o", tmp_path / "review",
    )  # fmt: skip
    assert len(replay.chats("cyclereviewer")) == 2
    cli("evaluate", "papers", tmp_path / "review", "--ci", "-o", tmp_path / "eval")
    row = rows(tmp_path / "eval" / "papers.csv")["review"]
    assert (int(row["papers"]), int(row["failed"])) == (2, 0)
    assert (float(row["avg_min"]), float(row["avg_max"]), float(row["avg_score"])) == (3.0, 10.0, 6.75)
    assert float(row["accept_rate"]) == 1.0
    # a threshold above the mean rating turns both decisions into rejections
    cli("evaluate", "papers", tmp_path / "review", "--accept-threshold", "7", "-o", tmp_path / "eval7")
    assert float(rows(tmp_path / "eval7" / "papers.csv")["review"]["accept_rate"]) == 0.0


def test_reviewer_accuracy_of_a_replayed_review_run(replay, fixtures_dir, tmp_path):
    """Papers named by their OpenReview ids, reviewed in Fast mode through the server, evaluated
    against the human reviews: the upstream figures (deepreview_sample_expected_metrics.json)."""
    truth_path = fixtures_dir / "deepreviewer" / "deepreview_sample_ground_truth.json"
    truth = json.loads(truth_path.read_text())
    folder = tmp_path / "papers"
    folder.mkdir()
    for i, paper in enumerate(truth[:2], 1):
        (folder / f"{paper['id']}.txt").write_text(
            (fixtures_dir / "detect" / f"human_paper_{i:03d}.txt").read_text()
        )
    # the third paper's text is not in the fixtures: a stand-in with its title gets its real review
    (folder / f"{truth[2]['id']}.txt").write_text(f"\\title{{{truth[2]['title']}}}\n\nText not included.\n")
    cli(
        "review", folder, "--reviewer", "deepreviewer", "--mode", "fast", "--engine", "openai",
        "--base-url", replay.url, "--model", DEEPREVIEWER, "-o", tmp_path / "review",
    )  # fmt: skip
    assert sorted(r.replayed[1] for r in replay.chats("deepreviewer-fast")) == [1, 2, 3]
    result = cli(
        "evaluate", "reviewers", "--truth", truth_path, "--pred", tmp_path / "review", "--json",
        "--tie-rule", "upstream", "-o", tmp_path / "eval",
    )  # fmt: skip
    metrics = json.loads(result.stdout[result.stdout.index("{") :])
    upstream = json.loads(
        (fixtures_dir / "deepreviewer" / "deepreview_sample_expected_metrics.json").read_text()
    )
    assert metrics["papers_predicted"] == 3
    for key, value in upstream["fast"].items():
        if key.startswith("Decision"):
            ours = metrics["decision_accuracy" if "Accuracy" in key else "decision_f1_macro"]
        else:
            dim, name = key.split(" ")
            suffix = {"MSE": "mse_n", "MAE": "mae_n", "Spearman": "spearman", "Pairwise": "pairwise_accuracy"}
            ours = metrics[f"{dim}_{suffix[name]}"]
        assert ours == (None if value is None else pytest.approx(value, abs=5e-5)), key
