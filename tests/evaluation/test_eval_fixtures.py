"""Evaluation on the released models' real outputs (CYCLERESEARCHER_FIXTURES).

The reviewer-accuracy figures recomputed upstream (deepreview_sample_expected_metrics.json) use
the order-dependent pairwise rule; we reproduce every figure with ``tie_rule="upstream"`` and
check that our default rule changes only the pairwise column. The "best" block cannot be
reproduced: only two of its three papers have a Best-mode output among the fixtures.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.evaluation.loading import load_predictions, load_reviews, load_truth
from cycleresearcher.evaluation.quality import paper_quality
from cycleresearcher.evaluation.reviewers import reviewer_accuracy

#: upstream key -> our key suffix
KEYS = {"MSE": "mse_n", "MAE": "mae_n", "Spearman": "spearman", "Pairwise": "pairwise_accuracy"}


def _pred_dir(fixtures_dir, tmp_path, mode):
    """Predictions named by paper id (the fixtures number them 001..003 in ground-truth order)."""
    truth = json.loads((fixtures_dir / "deepreviewer/deepreview_sample_ground_truth.json").read_text())
    folder = tmp_path / mode
    folder.mkdir()
    for i, paper in enumerate(truth, 1):
        src = fixtures_dir / f"deepreviewer/deepreviewer_{mode}_{i:03d}.txt"
        if src.exists():
            (folder / f"{paper['id']}.txt").symlink_to(src)
    return folder


def _expected(fixtures_dir, mode):
    data = json.loads((fixtures_dir / "deepreviewer/deepreview_sample_expected_metrics.json").read_text())
    out = {}
    for key, value in data[mode].items():
        if key.startswith("Decision"):
            out["decision_accuracy" if "Accuracy" in key else "decision_f1_macro"] = value
        else:
            dim, metric = key.split(" ")
            out[f"{dim}_{KEYS[metric]}"] = value
    return out


@pytest.mark.parametrize("mode", ["fast", "standard"])
def test_reproduces_upstream_reviewer_metrics(fixtures_dir, tmp_path, mode):
    truth = load_truth(fixtures_dir / "deepreviewer/deepreview_sample_ground_truth.json")
    preds = load_predictions(_pred_dir(fixtures_dir, tmp_path, mode))
    expected = _expected(fixtures_dir, mode)
    upstream = reviewer_accuracy(truth, preds, tie_rule="upstream").metrics()
    ours = reviewer_accuracy(truth, preds).metrics()
    assert len(expected) == 18
    for key, value in expected.items():
        if value is None:  # NaN upstream = undefined here
            assert upstream[key] is None, key
        else:
            assert upstream[key] == pytest.approx(value, abs=5e-5), key
        if not key.endswith("pairwise_accuracy"):
            assert ours[key] == upstream[key], key


def test_default_pairwise_rule_differs_where_ties_occur(fixtures_dir, tmp_path):
    truth = load_truth(fixtures_dir / "deepreviewer/deepreview_sample_ground_truth.json")
    preds = load_predictions(_pred_dir(fixtures_dir, tmp_path, "standard"))
    ours = reviewer_accuracy(truth, preds).metrics()
    # presentation: the three predictions are all 2.75 -> our rule gives chance (0.5), upstream 2/3
    assert ours["presentation_pairwise_accuracy"] == 0.5
    assert ours["presentation_spearman"] is None


def test_best_mode_has_two_of_three_papers(fixtures_dir, tmp_path):
    truth = load_truth(fixtures_dir / "deepreviewer/deepreview_sample_ground_truth.json")
    res = reviewer_accuracy(truth, load_predictions(_pred_dir(fixtures_dir, tmp_path, "best")))
    assert res.papers_predicted == 2 and res.missing_predictions == [truth[2].paper_id]


def test_reviewers_cli_json_on_fixtures(fixtures_dir, tmp_path):
    pred = _pred_dir(fixtures_dir, tmp_path, "fast")
    truth = fixtures_dir / "deepreviewer/deepreview_sample_ground_truth.json"
    result = CliRunner().invoke(
        app, ["evaluate", "reviewers", "--truth", str(truth), "--pred", str(pred), "--json", "--tie-rule", "upstream",
              "-o", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout[result.stdout.index("{") :])
    for key, value in _expected(fixtures_dir, "fast").items():
        assert metrics[key] == pytest.approx(value, abs=5e-5), key


def test_paper_quality_on_deepreviewer_outputs(fixtures_dir, tmp_path):
    """Per mode, the table's averages equal those of the scores read by eye (expected.json)."""
    expected = json.loads((fixtures_dir / "deepreviewer/expected.json").read_text())
    folders = []
    for mode in ("fast", "standard"):
        folder = tmp_path / mode
        folder.mkdir()
        for name in expected:
            if name.startswith(f"deepreviewer_{mode}_"):
                (folder / name.split("_")[-1]).symlink_to(fixtures_dir / "deepreviewer" / name)
        folders.append(folder)
    rows = {r.group: r for r in paper_quality(load_reviews(folders))}
    for mode in ("fast", "standard"):
        items = [v for k, v in expected.items() if k.startswith(f"deepreviewer_{mode}_")]
        finals = [v["final_review"] for v in items]
        row = rows[mode]
        assert (row.papers, row.failed) == (len(items), 0)
        assert row.avg_score == pytest.approx(sum(f["rating"] for f in finals) / len(finals))
        assert row.soundness == pytest.approx(sum(f["soundness"] for f in finals) / len(finals))
        assert row.accepted == sum(f["decision"] == "Accept" for f in finals)
        if mode == "standard":
            mins = [min(r["rating"] for r in v["simulated_reviewers"]) for v in items]
            assert row.avg_min == pytest.approx(sum(mins) / len(mins))


def test_detection_on_reference_criteria(fixtures_dir, tmp_path):
    """The 100 human / 100 generated reference criteria of the Llama-3.1-8B scorer: AUROC equals
    the Mann-Whitney U statistic / (n1 n2) and accuracy the share on the right side of the threshold."""
    from scipy.stats import mannwhitneyu

    ref = json.loads((fixtures_dir / "detect/llama-8B-ref.json").read_text())
    real, fake = ref["predictions"]["real"], ref["predictions"]["samples"]
    results = [{"paper_id": f"h{i}", "criterion": c, "label": "human"} for i, c in enumerate(real)]
    results += [{"paper_id": f"g{i}", "criterion": c, "label": "generated"} for i, c in enumerate(fake)]
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(results))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["evaluate", "detection", str(path), "--score", "criterion", "--threshold", "1.0", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    header, row = (out / "detection.csv").read_text().splitlines()
    values = dict(zip(header.split(","), row.split(","), strict=True))
    u = mannwhitneyu(fake, real).statistic
    assert float(values["auroc"]) == pytest.approx(u / (len(real) * len(fake)), abs=1e-6)
    right = sum(c <= 1.0 for c in real) + sum(c > 1.0 for c in fake)
    assert float(values["accuracy"]) == pytest.approx(right / 200, abs=1e-6)
