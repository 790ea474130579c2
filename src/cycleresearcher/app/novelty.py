"""The novelty check (``research novelty``, the paper page's Novelty button, ``generate --novelty``):
each paper or idea checked for close prior work, a run's papers getting the report in their run.

One function for both shells, so a check from the page and from the terminal search the same
works with the same settings and write the same record (the store's ``novelty`` record, the paper
record's meta, papers/<id>/novelty.json / .md, paper.json, paper.md). docs/novelty.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .report import Report
from .runfolder import run_lock
from .session import ModelChoice, Sessions

if TYPE_CHECKING:
    from ..evaluation.tables import ResultTable
    from ..novelty import NoveltyReport

#: works shown in the matrix by default (what both shells pass to the checker)
TOP_K = 5


@dataclass(frozen=True)
class NoveltyRequest:
    """What to check and against what. The defaults are the offline check of the page's button."""

    #: run directories (each paper of the run), paper JSON, or paper files
    papers: Sequence[Path] = ()
    #: bare ideas as text, checked like a paper
    ideas: Sequence[str] = ()
    #: only these papers of the runs given (their keys in the run); empty: every paper
    paper_ids: Sequence[str] = ()
    corpus: Sequence[Path] = ()
    online: bool = False
    cache: bool = True
    top_k: int = TOP_K
    threshold: float | None = None
    embeddings: bool = True
    #: also write novelty.json / novelty.md per subject here (a run's papers get them anyway)
    out: Path | None = None


@dataclass
class NoveltyResult:
    reports: list[NoveltyReport] = field(default_factory=list)


def check_novelty(
    req: NoveltyRequest,
    report: Report,
    judge: ModelChoice | None = None,
    sessions: Sessions | None = None,
    each: Callable[[NoveltyReport], None] | None = None,
) -> NoveltyResult:
    """Check every subject of ``req``; ``judge`` (with the ``sessions`` that load it) also asks a
    model, shown beside the evidence. ``each`` gets each report as soon as it is made (the CLI
    prints it then); its warnings go to ``report``."""
    from ..novelty import CheckSettings, NoveltyChecker
    from ..novelty.files import save_to_run, slug, write_report
    from ..novelty.subjects import subject_from_idea

    if not req.papers and not req.ideas:
        raise InputError("Nothing to check: give a run directory, a paper file, or --idea TEXT.")
    own = sessions is None  # a judge loaded here is closed here
    sessions = sessions or Sessions()
    clients: list[Any] = []
    result = NoveltyResult()
    locks = ExitStack()  # each run whose papers get a report, held from its first subject on
    try:
        if req.online:
            from ..novelty.online import scholarly_clients

            clients = scholarly_clients()
        settings = CheckSettings(
            top_k=req.top_k, threshold=req.threshold, embeddings=req.embeddings, corpus=list(req.corpus),
            cache=req.cache, clients=clients, judge=sessions.engine(judge, "researcher") if judge else None,
        )  # fmt: skip
        checker = NoveltyChecker(settings)
        locked: set[Any] = set()
        ideas = [(subject_from_idea(text, f"idea {i}"), None) for i, text in enumerate(req.ideas, 1)]
        for subject, run in [*ideas, *_subjects(req)]:
            if run is not None and run not in locked:
                locks.enter_context(run_lock(Path(run), "novelty"))
                locked.add(run)
            report.step(f"searching for work close to {subject.title or subject.label}")
            checked = checker.check(subject)
            result.reports.append(checked)
            if run is not None:
                save_to_run(run, checked)
            if req.out is not None:
                write_report(checked, Path(req.out) / slug(checked.subject.paper_id or checked.subject.label))
            if each is not None:
                each(checked)
            for warning in checked.warnings:
                report.warn(warning)
            report.advance()
    finally:
        locks.close()
        for client in clients:
            client.close()
        if own:
            sessions.close()
    return result


def _subjects(req: NoveltyRequest):
    from ..novelty.subjects import iter_subjects

    wanted = set(req.paper_ids)
    found = set()
    for subject, run in iter_subjects(list(req.papers)):
        key = subject.label.rsplit("#", 1)[-1]
        if wanted and (run is None or key not in wanted):
            continue
        found.add(key)
        yield subject, run
    if missing := wanted - found:
        raise InputError(f"No paper {', '.join(sorted(missing))} in {', '.join(map(str, req.papers))}.")


class PaperCheck:
    """``research generate --novelty``: each exported paper checked offline against its own
    references, the checker (and its model) made once for the run; returns the report."""

    def __init__(self, run: Path, store: Any = None):
        from ..novelty import NoveltyChecker

        self.run, self.store, self.checker = Path(run), store, NoveltyChecker()

    def __call__(self, paper: Any) -> NoveltyReport:
        from ..novelty.files import save_to_run
        from ..novelty.subjects import subject_from_paper

        checked = self.checker.check(subject_from_paper(paper, f"{self.run}#{paper.id}"))
        save_to_run(self.run, checked, self.store)
        return checked


def matrix_table(checked: NoveltyReport) -> ResultTable:
    """The check's matrix (the nearest works, how similar, what overlaps) as the shells show it."""
    from ..evaluation.tables import Column, ResultTable

    subject = checked.subject
    columns = [
        Column("rank", "#", "int"),
        Column("work", "work", "str"),
        Column("year", "year", "str"),
        Column("source", "source", "str"),
        Column("similarity", "similarity"),
        Column("overlaps", "what overlaps", "str"),
    ]
    rows = [
        {
            "rank": m.rank,
            "work": m.work.title[:80],
            "year": m.work.year,
            "source": m.work.source,
            "similarity": m.similarity,
            "overlaps": " / ".join(f"“{o.work_sentence[:120]}” ({o.similarity:.2f})" for o in m.overlaps[:1]),
        }
        for m in checked.matches
    ]
    return ResultTable(f"{subject.label}: {subject.title or subject.idea[:60]}", columns, rows)


__all__ = ["NoveltyRequest", "NoveltyResult", "PaperCheck", "check_novelty", "matrix_table"]
