"""The JSON export: the Paper record (model-card keys at the top level) and a disclosure."""

from __future__ import annotations

import json
from pathlib import Path

from ... import atomic
from ..record import Paper
from .disclosure import DISCLOSURE, SIMULATED_NOTICE


def export_json(paper: Paper, path: str | Path) -> Path:
    """The Paper record (model-card keys at the top level) plus a ``disclosure`` field."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    notices = [DISCLOSURE] + ([SIMULATED_NOTICE] if paper.results_simulated else [])
    record = {"disclosure": " ".join(notices), **paper.to_dict()}
    check = (paper.meta or {}).get("novelty_check")
    if isinstance(check, dict):  # the retrieval check's verdict beside the self-score (full report: meta)
        record["novelty_check"] = {
            k: check.get(k) for k in ("verdict", "close_prior_work", "threshold", "works_searched")
        }
    atomic.write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path


__all__ = ["export_json"]
