"""The novelty column of ``evaluate papers --novelty``: per group, the share of checked papers whose
novelty check (``research novelty``) found close prior work.

A reviewed paper's check is found where the review came from: the review record's ``source`` is
the paper's run (``<run>#paper/<id>``, the check is that run's ``novelty`` record) or its
``paper.json`` (the check is ``novelty.json`` beside it, or the ``novelty_check`` in its meta).
Papers never checked are left out of the share, and the cell says how many were checked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .records import ReviewedPaper
from .tables import Column, ResultTable

NOTE = (
    "Close prior work: papers whose novelty check (research novelty) found a work at or above its "
    "threshold / papers checked; papers never checked are left out."
)


def _store_record(run: str, kind: str, key: str) -> dict[str, Any] | None:
    from ..store import RunStore, is_run_dir

    if not run or not is_run_dir(run):
        return None
    with RunStore(run, create=False) as store:
        return store.get(kind, key)


def _from_source(source: str) -> dict[str, Any] | None:
    run, sep, key = source.rpartition("#paper/")
    if sep:
        return _store_record(run, "novelty", key)
    path = Path(source)
    beside = path.with_name("novelty.json")
    try:
        if beside.is_file():
            return json.loads(beside.read_text(encoding="utf-8"))
        if path.suffix == ".json" and path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            check = (data.get("meta") or {}).get("novelty_check") if isinstance(data, dict) else None
            return check if isinstance(check, dict) else None
    except (OSError, ValueError):  # an unreadable file is a paper not checked, not a failed table
        return None
    return None


def novelty_of(paper: ReviewedPaper) -> dict[str, Any] | None:
    """The novelty report of the paper a review is about, or None when it was never checked."""
    run, _, key = paper.source.rpartition("#")
    review = _store_record(run, "review", key) if run else None
    if review is None:
        return None
    return _store_record(run, "novelty", key) or _from_source(str(review.get("source") or ""))


def add_novelty_column(table: ResultTable, papers: Sequence[ReviewedPaper]) -> None:
    counts: dict[str, list[int]] = {}
    for paper in papers:
        report = novelty_of(paper)
        if report is not None:
            cell = counts.setdefault(paper.group, [0, 0])
            cell[0] += bool(report.get("close_prior_work"))
            cell[1] += 1
    table.columns.append(Column("close_prior_work", "Close prior work", "pct"))
    for row in table.rows:
        close, checked = counts.get(row["group"], [0, 0])
        row["close_prior_work"] = close / checked if checked else None
        row["close_prior_work_detail"] = f"{close}/{checked}"
    table.notes.append(NOTE)


__all__ = ["NOTE", "add_novelty_column", "novelty_of"]
