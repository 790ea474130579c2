"""What the review sources of ``evaluate papers`` held, in words: a source with no review at all
(and why: no review file, failed requests), and the papers reviewed more than once in a group."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import CycleResearcherError
from .records import ReviewedPaper

_PASS = "Pass run directories of `review`, folders of review files or review files."


def nothing_in(path: Path, papers: Sequence[ReviewedPaper]) -> str:
    """What a source without a single review holds, in words."""
    if not papers:
        if not is_run_dir(path):
            return f"no review in {path}: it holds no review file (.json from `review`, raw .txt / .md)"
        command = _run_command(path)
        return f"no review in {path}: it holds no review record" + (f" (a `{command}` run)" if command else "")
    reasons = Counter(p.not_reviewed for p in papers)
    if len(reasons) == 1:
        why = str(papers[0].not_reviewed)
    else:
        why = "; ".join(f"{reason}: {n}" for reason, n in reasons.most_common(3))
    return f"no review in {path}: {len(papers)} paper(s) not reviewed ({why})"


def no_review_message(empty: Sequence[tuple[Path, list[ReviewedPaper]]]) -> str:
    """The refusal when no source holds a review: what each holds and what to do."""
    if not empty:
        return "No review source given. " + _PASS
    text = "; ".join(nothing_in(path, papers) for path, papers in empty)
    text = text[0].upper() + text[1:] + "."
    failed = [path for path, papers in empty if papers and is_run_dir(path)]  # requests to retry
    if failed:
        run = str(failed[0]) if len(failed) == 1 else "RUN"
        return text + (
            f" Rerun the review with --resume (cycleresearcher review <the papers> -o {run} --resume), "
            "then evaluate it."
        )
    return f"{text} {_PASS}"


def is_run_dir(path: Path) -> bool:
    """A run folder, or a run store file given by itself."""
    from ..store import is_run_dir as is_store

    return is_store(path) or path.suffix in {".sqlite", ".db"}


def _run_command(run: Path) -> str | None:
    """The command that made a run (its store's ``command``), or None."""
    from ..store import RunStore

    try:
        with RunStore(run, create=False) as store:
            command = store.get_meta("command")
    except (CycleResearcherError, OSError, sqlite3.Error):  # old or damaged: said without it
        return None
    return command if isinstance(command, str) else None


def warn_repeated(papers: Sequence[ReviewedPaper], warn: Callable[[str], None]) -> None:
    """Name the paper ids reviewed more than once in a group: each review is counted as a paper."""
    counts: dict[str, Counter[str]] = {}
    for paper in papers:
        if not paper.not_reviewed:
            counts.setdefault(paper.group, Counter())[paper.paper_id] += 1
    for group, ids in counts.items():
        repeated = [f"{pid} ({n} reviews)" for pid, n in ids.items() if n > 1]
        if repeated:
            more = ", ..." if len(repeated) > 5 else ""
            warn(
                f"{group}: {len(repeated)} paper(s) reviewed more than once, each review counted as one "
                f"paper: {', '.join(repeated[:5])}{more}. --group-by folder gives one row per folder."
            )
