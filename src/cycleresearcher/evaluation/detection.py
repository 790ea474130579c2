"""Detection metrics and table: accuracy, F1 and AUROC of a detector on labelled human / generated
papers, the one definition behind ``detect --labels``, ``evaluate detection`` and the calibration.

A paper is called generated when its score is strictly above the threshold (the detector's own
rule: "likely AI" when p > 0.5). F1 is that of the *generated* class. AUROC uses the raw scores
(threshold-free) and is undefined when only one class is present.

Labels: 1 = machine-generated, 0 = human-written (``parse_label`` also takes "machine"/"human",
"ai"/"generated", "true"/"false"). Scores: higher = more machine-like (probabilities or criteria).
The label CSVs are read by ``loading.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import InputError
from .tables import Column, ResultTable

ScoreKind = Literal["probability", "criterion"]
_MACHINE = {"1", "machine", "ai", "generated", "llm", "fake", "true", "yes"}
_HUMAN = {"0", "human", "real", "false", "no"}


def parse_label(value: str | int | bool) -> int:
    v = str(int(value) if isinstance(value, bool) else value).strip().lower()
    if v in _MACHINE:
        return 1
    if v in _HUMAN:
        return 0
    raise InputError(f"Unknown label {value!r}: use human/machine or 0/1.")


def detection_metrics(
    labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5
) -> dict[str, Any]:
    """Accuracy and F1 of ``score > threshold`` as "machine", and AUROC of the scores.

    Pairs whose score is NaN/None are left out (counted in ``n_skipped``). AUROC is None when only
    one class is present.
    """
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    pairs = [
        (int(y), float(s))
        for y, s in zip(labels, scores, strict=True)
        if s is not None and not math.isnan(float(s))
    ]
    ys = [y for y, _ in pairs]
    ss = [s for _, s in pairs]
    preds = [int(s > threshold) for s in ss]
    out: dict[str, Any] = {
        "n": len(pairs),
        "n_skipped": len(labels) - len(pairs),
        "n_human": ys.count(0),
        "n_machine": ys.count(1),
        "threshold": threshold,
        "accuracy": float(accuracy_score(ys, preds)) if ys else None,
        "f1": float(f1_score(ys, preds, zero_division=0)) if ys else None,
        "auroc": float(roc_auc_score(ys, ss)) if len(set(ys)) == 2 else None,
    }
    return out


def match_label(labels: dict[str, int], source: str) -> int | None:
    """The label for ``source`` by full path, then relative path, then file name."""
    key = matching_key(labels, source)
    return None if key is None else labels[key]


def matching_key(labels: Mapping[str, Any], source: str) -> str | None:
    """The key of ``labels`` that names ``source``: the same text, else the same path, relative
    path or file name."""
    if source in labels:
        return source
    p = Path(source.split("#", 1)[0])
    for key in labels:
        k = Path(key)
        if k == p or k.name == p.name and (len(k.parts) == 1 or p.as_posix().endswith(k.as_posix())):
            return key
    return None


def label_key(key: str, record: Mapping[str, Any], labels: Mapping[str, int]) -> str | None:
    """The key of ``labels`` that labels a result: by id, then by the record's path (full, file
    name or file stem)."""
    for name in dict.fromkeys(str(n) for n in (key, record.get("path"), record.get("source")) if n):
        found = matching_key(labels, name)
        if found is None and Path(name.split("#", 1)[0]).stem in labels:
            found = Path(name.split("#", 1)[0]).stem
        if found is not None:
            return found
    return None


def label_of(key: str, record: Mapping[str, Any], labels: Mapping[str, int] | None) -> int | None:
    """The 0/1 label of a result: from ``labels`` (see :func:`label_key`), else the record's own
    ``label`` field, else None."""
    if labels and (found := label_key(key, record, labels)) is not None:
        return labels[found]
    raw = record.get("label")
    if raw is None or str(raw).strip() == "":
        return None
    return parse_label(raw)


@dataclass
class DetectionRow:
    source: str
    score: ScoreKind
    threshold: float
    papers: int  # labelled papers with a score
    human: int
    generated: int
    accuracy: float | None
    f1: float | None
    auroc: float | None
    unlabelled: list[str] = field(default_factory=list)  # results without a label
    no_score: list[str] = field(default_factory=list)  # results without the chosen score

    def to_dict(self) -> dict[str, Any]:
        row = {k: v for k, v in self.__dict__.items() if k not in {"unlabelled", "no_score"}}
        row["unlabelled"] = len(self.unlabelled)
        row["no_score"] = len(self.no_score)
        return row


def choose_score(results: Mapping[str, Mapping[str, Any]], score: ScoreKind | None) -> ScoreKind:
    """``score``, else ``probability`` when any result has one (results without it go to No
    score), else ``criterion`` (e.g. papers, where the embedded scorer withholds the probability)."""
    if score is not None:
        return score
    has_p = any(_number(r.get("probability")) is not None for r in results.values())
    return "probability" if has_p else "criterion"


def detection_row(
    source: str,
    results: Mapping[str, Mapping[str, Any]],
    labels: Mapping[str, int] | None = None,
    score: ScoreKind | None = None,
    threshold: float | None = None,
    where: str | None = None,
) -> DetectionRow:
    """Metrics of one set of results (paper id -> record with ``probability`` / ``criterion``).

    A paper's label comes from ``labels`` or else from the record's own ``label`` field.
    ``source`` names the row; ``where`` (default ``source``) the file in messages.
    """
    where = where or source
    kind = choose_score(results, score)
    if threshold is None:
        if kind == "criterion":
            raise InputError(
                f"The results in {where} have no calibrated 'probability'; for the raw criterion pass "
                "--score criterion --threshold T (higher = more machine-like), or calibrate the detector "
                "(see `cycleresearcher detect calibrate --help`)."
            )
        threshold = 0.5
    elif kind == "probability" and not 0.0 <= threshold <= 1.0:
        # a criterion's threshold (often negative) would call every probability "generated"
        why = (
            "as --score probability needs"
            if score
            else f"and the results in {where} have a probability, the default score"
        )
        raise InputError(
            f"--threshold {threshold:g} is not a probability (0 to 1), {why}. Add --score criterion to "
            "threshold the raw criterion."
        )
    ys, ss, unlabelled, no_score = [], [], [], []
    for pid, record in results.items():
        label = label_of(pid, record, labels)
        if label is None:
            unlabelled.append(pid)
            continue
        value = _number(record.get(kind))
        if value is None:  # also a failed detection (error set, no criterion)
            no_score.append(pid)
            continue
        ys.append(label)
        ss.append(value)
    metrics = detection_metrics(ys, ss, threshold)
    return DetectionRow(
        source=source,
        score=kind,
        threshold=threshold,
        papers=len(ys),
        human=ys.count(0),
        generated=ys.count(1),
        accuracy=metrics["accuracy"],
        f1=metrics["f1"],
        auroc=metrics["auroc"],
        unlabelled=unlabelled,
        no_score=no_score,
    )


def detection_table(rows: Sequence[DetectionRow]) -> ResultTable:
    columns = [
        Column("source", "Results", "str"),
        Column("score", "Score", "str"),
        Column("threshold", "Threshold", digits=4),
        Column("papers", "Papers", "int"),
        Column("human", "Human", "int"),
        Column("generated", "Generated", "int"),
        Column("accuracy", "Accuracy", "pct"),
        Column("f1", "F1", digits=4),
        Column("auroc", "AUROC", digits=4),
        Column("unlabelled", "Unlabelled", "int"),
        Column("no_score", "No score", "int"),
    ]
    notes = [
        "Generated when score > threshold; F1 of the generated class; AUROC from the raw scores "
        "('undefined' with one class).",
        "Unlabelled: results with no label (not counted); No score: labelled results without that score.",
    ]
    return ResultTable("Detection", columns, [r.to_dict() for r in rows], notes)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
