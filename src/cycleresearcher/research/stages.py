"""The stage rules of a stored paper: it only moves forward (awaiting real results, complete with
simulated results, complete with the real results the user supplied), and a paper replaced on
purpose (``redo``) is kept as an earlier version (``paper_version`` ``<id>.vN``).

A ``research generate --resume`` after ``research complete`` used to rebuild each paper from its
cached stage-1 sample and store it over the completed one (paper.json 11,379 -> 9,110 bytes, the
real results gone), and a resume without ``--two-stage`` replaced it with a simulated paper.
"""

from __future__ import annotations

from ..paper import Paper
from ..paper.record import Stage
from ..store import RunStore
from .settings import PAPER, PAPER_VERSION


def rank(paper: Paper) -> int:
    """How far a paper has come: 0 awaiting real results, 1 complete with simulated results,
    2 complete with the real results the user supplied."""
    if paper.stage is Stage.AWAITING_RESULTS:
        return 0
    return 1 if paper.results_simulated else 2


def same_sample(a: Paper, b: Paper) -> bool:
    return a.generated_text == b.generated_text and a.stage is b.stage


def store_paper(store: RunStore, paper: Paper, redo: bool = False) -> tuple[Paper, str | None]:
    """Store a generated paper unless that would move the stored one backwards; returns what the
    store holds now and, when the stored paper was kept instead, why. With ``redo`` the new paper
    replaces it anyway; a replaced paper that differs is kept as ``paper_version`` ``<id>.vN``
    and listed in ``meta["versions"]`` (the exports then keep its files as ``paper.vN.json``)."""
    data = store.get(PAPER, paper.id)
    if data is None:
        store.put(PAPER, paper.id, paper.to_dict())
        return paper, None
    old = Paper.from_dict(data)
    if data == paper.to_dict():  # the same sample stored before: nothing changes
        return old, None
    if rank(paper) < rank(old) and not redo:
        return old, "completed with your real results" if rank(old) == 2 else "complete (simulated results)"
    versions = list((old.meta or {}).get("versions") or [])
    if not (same_sample(old, paper) and rank(paper) <= rank(old)):  # a new draw: keep the old one
        versions.append(
            {
                "version": len(versions) + 1,
                "results_simulated": old.results_simulated,
                "stage": old.stage.value,
            }
        )
        store.put(PAPER_VERSION, f"{paper.id}.v{len(versions)}", data)
    # the same draw with notes refreshed (e.g. restored engine warnings) is no new version
    if versions:
        paper.meta = {**(paper.meta or {}), "versions": versions}
    store.put(PAPER, paper.id, paper.to_dict())
    return paper, None


__all__ = ["rank", "same_sample", "store_paper"]
