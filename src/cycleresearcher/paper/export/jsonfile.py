"""The JSON export: the Paper record (model-card keys at the top level) and a disclosure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ... import atomic
from ..local_paths import public
from ..record import Paper
from .disclosure import DISCLOSURE, results_notice

if TYPE_CHECKING:
    from .project import LatexExport

#: the keys paper.json holds beside the record's own (``Paper.to_dict``)
EXPORT_ONLY = ("disclosure", "novelty_check", "unresolved_citations", "unresolved_refs")


def export_json(paper: Paper, path: str | Path, latex: LatexExport | None = None) -> Path:
    """The Paper record (model-card keys at the top level) plus a ``disclosure`` field and, when
    its LaTeX project was written (``latex``), the citations and ``\ref`` labels it could not
    resolve. No folder of the user's machine is named (``local_paths``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    notices = [DISCLOSURE, *filter(None, [results_notice(paper)])]
    record = {"disclosure": " ".join(notices), **public(paper).to_dict()}
    if latex is not None:
        record["unresolved_citations"] = list(latex.unresolved_citations)
        record["unresolved_refs"] = list(latex.unresolved_refs)
    check = (paper.meta or {}).get("novelty_check")
    if isinstance(check, dict):  # the retrieval check's verdict beside the self-score (full report: meta)
        record["novelty_check"] = {
            k: check.get(k) for k in ("verdict", "close_prior_work", "threshold", "works_searched")
        }
    atomic.write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path


__all__ = ["EXPORT_ONLY", "export_json"]
