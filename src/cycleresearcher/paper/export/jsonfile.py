"""The JSON export: the Paper record (model-card keys at the top level) and a disclosure."""

from __future__ import annotations

import json
from pathlib import Path

from ..record import Paper
from .disclosure import DISCLOSURE, SIMULATED_NOTICE


def export_json(paper: Paper, path: str | Path) -> Path:
    """The Paper record (model-card keys at the top level) plus a ``disclosure`` field."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    notices = [DISCLOSURE] + ([SIMULATED_NOTICE] if paper.results_simulated else [])
    record = {"disclosure": " ".join(notices), **paper.to_dict()}
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


__all__ = ["export_json"]
