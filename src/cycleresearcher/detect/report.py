"""What ``detect -o DIR`` keeps: one record per paper in the run store (kind "detection", the
shape ``evaluate detection DIR`` reads), the same records as ``detections.json`` and a
``detections.md`` table for people."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .api import Detection

#: the run-store kind; evaluation.loading.load_detections reads records of this kind
KIND = "detection"
JSON_NAME = "detections.json"
MD_NAME = "detections.md"
NO_VERDICT = "no verdict"


def verdict(det: Detection) -> tuple[str, str]:
    """("machine" | "human" | "no verdict", why there is none): only a calibrated probability
    backs a verdict, so the criterion alone gives none."""
    if det.error:
        return NO_VERDICT, det.error
    if det.probability_withheld:
        return NO_VERDICT, det.probability_withheld
    if det.is_likely_ai_generated is None or det.probability is None:
        return NO_VERDICT, "no calibration for this scoring model: criterion only (higher = more machine-like)"
    return ("machine" if det.is_likely_ai_generated else "human"), ""


def detection_record(det: Detection, title: str = "") -> dict[str, Any]:
    """``Detection.to_dict`` plus the paper's path, title and verdict."""
    record = det.to_dict()
    word, reason = verdict(det)
    record.update(path=det.source, title=title, verdict=word, verdict_reason=reason)
    return record


def write_detections(folder: str | Path, records: Sequence[dict[str, Any]]) -> list[Path]:
    """Store ``records`` (from :func:`detection_record`) in ``folder``; return the files written."""
    import json

    from ..store import RunStore

    folder = Path(folder)
    with RunStore(folder) as store:
        store.set_meta("command", "detect")
        for record in records:
            store.put(KIND, str(record["path"]), record)
    js = folder / JSON_NAME
    js.write_text(json.dumps(list(records), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md = folder / MD_NAME
    md.write_text(detections_markdown(records), encoding="utf-8")
    return [folder / "run.sqlite", js, md]


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _num(x: Any, spec: str) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def detections_markdown(records: Sequence[dict[str, Any]]) -> str:
    lines = [
        "# Detection",
        "",
        "| File | Title | Criterion | Probability | Verdict | Calibration |",
        "|---|---|---:|---:|---|---|",
    ]
    reasons: list[str] = []
    for r in records:
        word = r["verdict"]
        if word == NO_VERDICT and r.get("verdict_reason"):
            if r["verdict_reason"] not in reasons:
                reasons.append(r["verdict_reason"])
            word = f"{word} ({reasons.index(r['verdict_reason']) + 1})"
        lines.append(
            "| "
            + " | ".join(
                _cell(c)
                for c in (
                    r["path"],
                    r.get("title") or "",
                    _num(r.get("criterion"), ".3f"),
                    _num(r.get("probability"), ".2%"),
                    word,
                    r.get("calibration") or "none",
                )
            )
            + " |"
        )
    if reasons:
        lines += ["", *(f"({i}) {_cell(why)}" for i, why in enumerate(reasons, 1))]
    return "\n".join(lines) + "\n"
