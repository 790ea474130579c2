"""The one detection record, written by ``detect -o DIR`` and by the web page's detect jobs alike.

A record is ``Detection.to_dict`` plus ``paper_id`` (the record's key in the run store: the id the
review of the same paper gets, ``review.context.paper_id_for``), ``path`` (where the text came
from), ``title`` and ``verdict`` / ``verdict_reason``. A folder keeps them in its run store (kind
"detection", what ``evaluate detection DIR`` and the web pages read), as ``detections.json`` and
as a ``detections.md`` table for people; both files list every detection record of the store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .api import Detection

#: the run-store kind; evaluation.loading.load_detections reads records of this kind
KIND = "detection"
JSON_NAME = "detections.json"
MD_NAME = "detections.md"
NO_VERDICT = "no verdict"
UNCALIBRATED = "no calibration for this scoring model: criterion only (higher = more machine-like)"


def verdict(det: Detection | Mapping[str, Any]) -> tuple[str, str]:
    """("machine" | "human" | "no verdict", why there is none): only a calibrated probability
    backs a verdict, so the criterion alone gives none."""
    d = det.to_dict() if isinstance(det, Detection) else det
    if d.get("error"):
        return NO_VERDICT, str(d["error"])
    if d.get("probability_withheld"):
        return NO_VERDICT, str(d["probability_withheld"])
    if d.get("is_likely_ai_generated") is None or d.get("probability") is None:
        return NO_VERDICT, UNCALIBRATED
    return ("machine" if d["is_likely_ai_generated"] else "human"), ""


def detection_record(det: Detection, paper_id: str, title: str = "", path: str | None = None) -> dict[str, Any]:
    """The record of one scored text: its id, path (default: the detection's source) and title,
    ``Detection.to_dict`` and the verdict."""
    word, reason = verdict(det)
    where = det.source if path is None else path
    return {"paper_id": paper_id, "path": where, "title": title, **det.to_dict(), "verdict": word,
            "verdict_reason": reason}  # fmt: skip


def upgrade(key: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record in today's shape. Older ones came in two: the CLI's keyed by path (no
    ``paper_id``), the web's with no path, title or verdict."""
    record = dict(data)
    record.setdefault("paper_id", key)
    record.setdefault("path", record.get("source") or key)
    record.setdefault("title", "")
    if "verdict" not in record:
        record["verdict"], record["verdict_reason"] = verdict(record)
    return record


#: a detector setting (``AIDetector.settings``, fields of every record) -> the option that sets it
SETTING_OPTIONS = {
    "scoring_model": "--scoring-model",
    "reference_model": "--reference-model",
    "runtime": "--runtime",
    "max_tokens": "--max-tokens",
    "window": "--window",
    "calibration": "--calibration",
}


def other_settings(folder: str | Path, now: Mapping[str, Any], replaced: set[str]) -> list[str]:
    """How the scored records ``folder`` keeps (besides those of ``replaced`` ids, scored again
    now) differ from ``now``, one entry per setting: ``--max-tokens 200 there, 1024 now``.
    Records of earlier versions lack some settings; those are not compared."""
    from ..store import RunStore, is_run_dir

    if not is_run_dir(Path(folder)):
        return []
    with RunStore(folder) as store:
        kept = [d for k, d in store.items(KIND) if k not in replaced and isinstance(d, dict) and not d.get("error")]
    differ = []
    for key, option in SETTING_OPTIONS.items():
        there = sorted({_setting(r[key]) for r in kept if key in r and r[key] != now.get(key)})
        if there:
            differ.append(f"{option} {' / '.join(there)} there, {_setting(now.get(key))} now")
    return differ


def _setting(value: Any) -> str:
    return "not set" if value is None else str(value)


def write_detections(folder: str | Path, records: Sequence[dict[str, Any]]) -> list[Path]:
    """Store ``records`` (from :func:`detection_record`) in ``folder``'s run store and rewrite its
    ``detections.json`` / ``.md`` from every detection record there: earlier ones first, then these
    in their order. Return the files written."""
    import json

    from ..atomic import write_text
    from ..store import RunStore

    folder = Path(folder)
    with RunStore(folder) as store:
        if not store.get_meta("command"):  # a web run keeps the command that made it
            store.set_meta("command", "detect")
        for record in records:
            store.put(KIND, str(record["paper_id"]), record)
        mine = {str(r["paper_id"]) for r in records}
        earlier = [upgrade(k, d) for k, d in store.items(KIND) if k not in mine]
    every = [*earlier, *records]
    js = folder / JSON_NAME
    write_text(js, json.dumps(every, indent=2, ensure_ascii=False) + "\n")
    md = folder / MD_NAME
    write_text(md, detections_markdown(every))
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
