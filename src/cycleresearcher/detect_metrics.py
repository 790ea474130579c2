"""Detection metrics (accuracy, F1, AUROC) as pure functions over labels and scores.

Labels: 1 = machine-generated, 0 = human-written (``parse_label`` also takes "machine"/"human",
"ai"/"generated", "true"/"false"). Scores: higher = more machine-like (probabilities or criteria).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import InputError

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


def read_labels(path: str | os.PathLike[str]) -> dict[str, int]:
    """``file,label`` CSV (header optional) -> {file: 0/1}."""
    try:
        rows = list(csv.reader(Path(path).read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: cannot read the labels CSV ({exc}). Write it as UTF-8 `file,label` lines."
        ) from exc
    out: dict[str, int] = {}
    for i, row in enumerate(rows, 1):
        if not row or not "".join(row).strip() or row[0].startswith("#"):
            continue
        if len(row) < 2:
            raise InputError(f"{path}:{i}: expected `file,label`, got {','.join(row)!r}.")
        if i == 1 and row[1].strip().lower() == "label":
            continue
        try:
            out[row[0].strip()] = parse_label(row[1])
        except InputError as exc:
            raise InputError(f"{path}:{i}: {exc}") from exc
    if not out:
        raise InputError(f"{path}: no labels found. Write `file,label` lines (label human/machine or 0/1).")
    return out


def match_label(labels: dict[str, int], source: str) -> int | None:
    """The label for ``source`` by full path, then relative path, then file name."""
    if source in labels:
        return labels[source]
    p = Path(source.split("#", 1)[0])
    for key, value in labels.items():
        k = Path(key)
        if k == p or k.name == p.name and (len(k.parts) == 1 or p.as_posix().endswith(k.as_posix())):
            return value
    return None
