"""Reviewer-accuracy metrics: predicted reviews against human reviews of the same papers.

Per dimension (rating, soundness, presentation, contribution), over the papers that have a
predicted score and at least one human score for it:
- ``mse_n`` / ``mae_n``: predicted paper-level score vs the mean of ALL human reviewers;
- ``mse_n_minus_1`` / ``mae_n_minus_1``: for every human reviewer j of a paper with k >= 2 human
  scores, the error vs the mean of the other k-1 reviewers; averaged over j within the paper, then
  over papers (each paper weighs the same, as in the "n" proxy). Papers with one human score are
  left out of this proxy only;
- ``spearman``: scipy Spearman correlation across papers of predicted score vs human mean;
  undefined (None) when either side is constant or fewer than two papers;
- ``pairwise_accuracy``: over paper pairs, see :func:`pairwise_accuracy` for the tie rule;
- ``decision_accuracy`` / ``decision_f1_macro`` over papers with both decisions; macro F1 averages
  the classes that occur in the human or the predicted decisions, so all-accept / all-reject sets
  give a defined value (1.0 when all are right).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from statistics import fmean
from typing import Any, Literal

from .records import DIMENSIONS, HumanPaper, ReviewedPaper, id_lookup
from .tables import Column, ResultTable

TieRule = Literal["half", "upstream"]

TIE_RULES = {
    "half": (
        "Pairwise: pairs of papers whose human means differ; correct when the prediction orders them the "
        "same way, a predicted tie counts 0.5 (a constant predictor scores 0.5); pairs tied in the human "
        "means are skipped."
    ),
    "upstream": (
        "Pairwise (upstream rule): all unordered pairs i<j in input order, correct iff "
        "(human_i > human_j) == (pred_i > pred_j); ties count as 'not greater', so the result depends on order."
    ),
}


def pairwise_accuracy(
    truth: Sequence[float], pred: Sequence[float], tie_rule: TieRule = "half"
) -> float | None:
    """Share of paper pairs ranked like the humans rank them (None when no pair counts)."""
    if tie_rule not in TIE_RULES:
        raise ValueError(f"tie_rule must be one of {sorted(TIE_RULES)}, got {tie_rule!r}")
    credit, counted = 0.0, 0
    for i, j in combinations(range(len(truth)), 2):
        if tie_rule == "upstream":
            counted += 1
            credit += (truth[i] > truth[j]) == (pred[i] > pred[j])
            continue
        human = _sign(truth[i] - truth[j])
        if human == 0:
            continue
        counted += 1
        model = _sign(pred[i] - pred[j])
        credit += 1.0 if model == human else 0.5 if model == 0 else 0.0
    return credit / counted if counted else None


def spearman(truth: Sequence[float], pred: Sequence[float]) -> float | None:
    """scipy's Spearman rho, None where it is undefined (NaN: constant input, < 2 papers)."""
    if len(truth) < 2:
        return None
    from scipy.stats import spearmanr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on constant input and returns NaN
        rho = float(spearmanr(truth, pred).statistic)
    return None if math.isnan(rho) else rho


def decision_metrics(truth: Sequence[str], pred: Sequence[str]) -> dict[str, float | None]:
    """Accuracy and macro F1 (sklearn) of Accept/Reject decisions."""
    if not truth:
        return {"decision_accuracy": None, "decision_f1_macro": None}
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(truth) | set(pred))
    return {
        "decision_accuracy": float(accuracy_score(truth, pred)),
        "decision_f1_macro": float(f1_score(truth, pred, labels=labels, average="macro", zero_division=0)),
    }


@dataclass
class DimensionResult:
    dimension: str
    papers: int  # papers with a prediction and >= 1 human score
    papers_n_minus_1: int  # of those, papers with >= 2 human scores
    mse_n: float | None
    mae_n: float | None
    mse_n_minus_1: float | None
    mae_n_minus_1: float | None
    spearman: float | None
    pairwise_accuracy: float | None


@dataclass
class ReviewerAccuracy:
    dimensions: list[DimensionResult]
    decision_accuracy: float | None
    decision_f1_macro: float | None
    papers_truth: int
    papers_predicted: int  # truth papers with a prediction file
    papers_decided: int  # papers with a human AND a predicted decision
    missing_predictions: list[str] = field(default_factory=list)
    failed_parses: list[str] = field(default_factory=list)
    tie_rule: TieRule = "half"

    def metrics(self) -> dict[str, Any]:
        """Flat keys naming dimension and metric (``rating_mse_n``, ...); None = undefined."""
        out: dict[str, Any] = {}
        for d in self.dimensions:
            for name in ("mse_n", "mae_n", "mse_n_minus_1", "mae_n_minus_1", "spearman", "pairwise_accuracy"):
                out[f"{d.dimension}_{name}"] = getattr(d, name)
            out[f"{d.dimension}_papers"] = d.papers
        out["decision_accuracy"] = self.decision_accuracy
        out["decision_f1_macro"] = self.decision_f1_macro
        rating = next((d for d in self.dimensions if d.dimension == "rating"), None)
        out["pairwise_accuracy"] = rating.pairwise_accuracy if rating else None  # the headline figure
        out.update(
            papers_truth=self.papers_truth,
            papers_predicted=self.papers_predicted,
            papers_decided=self.papers_decided,
            missing_predictions=self.missing_predictions,
            failed_parses=self.failed_parses,
            tie_rule=self.tie_rule,
        )
        return out


def align_predictions(
    truth: Sequence[HumanPaper], predictions: Mapping[str, ReviewedPaper]
) -> dict[str, ReviewedPaper]:
    """``predictions`` keyed by the truth's ids. `review` names a paper read from a file after the
    file and a hash of its text (``tc1jaWpi7M.txt`` -> ``tc1jawpi7m-0c829506``), so a truth id
    missing from ``predictions`` is matched as :func:`records.id_lookup` matches ids (the one
    prediction of that file name; two: no guess)."""
    out = dict(predictions)
    find = id_lookup(predictions)
    for human in truth:
        if human.paper_id not in out and (found := find(human.paper_id)) is not None:
            out[human.paper_id] = predictions[found]
    return out


def reviewer_accuracy(
    truth: Sequence[HumanPaper], predictions: Mapping[str, ReviewedPaper], tie_rule: TieRule = "half"
) -> ReviewerAccuracy:
    """Compare predictions (keyed by paper id, see :func:`align_predictions`) with the human
    reviews; papers are taken in the order of ``truth`` (which matters only for the upstream tie rule)."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    predictions = align_predictions(truth, predictions)
    missing = [h.paper_id for h in truth if h.paper_id not in predictions]
    matched = [(h, predictions[h.paper_id]) for h in truth if h.paper_id in predictions]
    failed = [h.paper_id for h, p in matched if not p.parsed]
    dims = []
    for dim in DIMENSIONS:
        preds, means = [], []
        loo_targets, loo_preds, loo_weights = [], [], []
        papers_loo = 0
        for human, paper in matched:
            pred, scores = paper.score(dim), human.scores(dim)
            if pred is None or not scores:
                continue
            preds.append(pred)
            means.append(fmean(scores))
            if len(scores) >= 2:
                papers_loo += 1
                total = sum(scores)
                for s in scores:  # held-out reviewer s vs the mean of the others
                    loo_targets.append((total - s) / (len(scores) - 1))
                    loo_preds.append(pred)
                    loo_weights.append(1.0 / len(scores))  # each paper weighs the same
        has_n, has_loo = bool(preds), bool(loo_preds)
        dims.append(
            DimensionResult(
                dimension=dim,
                papers=len(preds),
                papers_n_minus_1=papers_loo,
                mse_n=float(mean_squared_error(means, preds)) if has_n else None,
                mae_n=float(mean_absolute_error(means, preds)) if has_n else None,
                mse_n_minus_1=float(mean_squared_error(loo_targets, loo_preds, sample_weight=loo_weights))
                if has_loo
                else None,
                mae_n_minus_1=float(mean_absolute_error(loo_targets, loo_preds, sample_weight=loo_weights))
                if has_loo
                else None,
                spearman=spearman(means, preds),
                pairwise_accuracy=pairwise_accuracy(means, preds, tie_rule),
            )
        )
    decided = [(h.decision, p.decision) for h, p in matched if h.decision and p.decision]
    dec = decision_metrics([t for t, _ in decided], [p for _, p in decided])
    return ReviewerAccuracy(
        dimensions=dims,
        decision_accuracy=dec["decision_accuracy"],
        decision_f1_macro=dec["decision_f1_macro"],
        papers_truth=len(truth),
        papers_predicted=len(matched),
        papers_decided=len(decided),
        missing_predictions=missing,
        failed_parses=failed,
        tie_rule=tie_rule,
    )


def reviewer_table(result: ReviewerAccuracy, title: str = "Reviewer accuracy") -> ResultTable:
    columns = [
        Column("dimension", "Dimension", "str"),
        Column("papers", "Papers", "int"),
        Column("mse_n", "MSE (n)", digits=4),
        Column("mae_n", "MAE (n)", digits=4),
        Column("mse_n_minus_1", "MSE (n-1)", digits=4),
        Column("mae_n_minus_1", "MAE (n-1)", digits=4),
        Column("spearman", "Spearman", digits=4),
        Column("pairwise_accuracy", "Pairwise", digits=4),
        Column("accuracy", "Accuracy", digits=4),
        Column("f1_macro", "F1 (macro)", digits=4),
    ]
    rows: list[dict[str, Any]] = []
    for d in result.dimensions:
        row = dict(d.__dict__)
        row["accuracy"] = row["f1_macro"] = ""  # not a decision row: blank, not "undefined"
        rows.append(row)
    rows.append(
        {
            "dimension": "decision",
            "papers": result.papers_decided,
            **{c.key: "" for c in columns[2:8]},
            "accuracy": result.decision_accuracy,
            "f1_macro": result.decision_f1_macro,
        }
    )
    notes = [
        "(n): predicted paper score vs the mean of all human reviewers.",
        "(n-1): per held-out human reviewer, vs the mean of the other reviewers; averaged within a paper, "
        "then over papers (papers with one human review are left out of this proxy).",
        "Spearman: across papers, predicted score vs human mean; 'undefined' when either side is constant.",
        TIE_RULES[result.tie_rule],
        "Decision: papers with a human and a predicted decision; macro F1 over the classes present.",
        f"Papers: {result.papers_predicted}/{result.papers_truth} with a prediction"
        + (f"; missing: {', '.join(result.missing_predictions)}" if result.missing_predictions else "")
        + (f"; failed parses: {', '.join(result.failed_parses)}" if result.failed_parses else ""),
    ]
    return ResultTable(title, columns, rows, notes)


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)
