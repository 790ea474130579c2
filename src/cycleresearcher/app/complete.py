"""Finish two-stage papers with REAL results: ``research complete`` and a paper page's results form.

The results are checked against the documented shape before any model runs. With no model,
engine or server named, the run's own are used (the "Next:" line ``generate --two-stage`` prints
names none: it once went to the Hugging Face hub instead of the run's server). Only papers
awaiting results are completed unless ``redo``; a paper completed with these very results whose
files were cut short (a kill during the export) gets them written again with no model call.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EngineError, InputError
from ..paper.record import Stage
from ..progress import reporting
from .generate import PapersResult, Stats
from .report import Report
from .runfolder import RunFolder, files_current
from .session import ModelChoice, Sessions

if TYPE_CHECKING:
    from ..paper import Paper

COMMAND = "research complete"


@dataclass
class CompleteRequest:
    run: Path
    #: a results file, or the results already read (a JSON list of {name, result})
    results: Path | Any
    #: one paper (default: every paper awaiting results)
    paper_id: str | None = None
    choice: ModelChoice = field(default_factory=ModelChoice)
    pdf: bool = True
    #: replace the results of papers already complete; the earlier version is kept
    redo: bool = False


@dataclass
class CompleteResult(PapersResult):
    #: papers already complete with these results whose files were written again (no model call)
    rewritten: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures and bool(self.written)


def complete(request: CompleteRequest, sessions: Sessions, report: Report) -> CompleteResult:
    """Write the results section of each paper awaiting results (or, with ``redo``, of each one)."""
    data = read_results(request.results)  # the documented shape, before any model runs
    folder = RunFolder(request.run)
    choice = request.choice.with_run_defaults(*folder.generated_with())
    with folder.lock(COMMAND):
        with folder.store() as store:
            every = _papers(store)
            before = Stats.of(store, "complete", 0.0)  # earlier completions are not this command's
        papers = [p for p in every if not request.paper_id or p.id == request.paper_id]
        if request.paper_id and not papers:
            raise InputError(_no_such_paper(folder.path, request.paper_id, every))
        todo = papers if request.redo else [p for p in papers if p.stage is Stage.AWAITING_RESULTS]
        stale = [] if request.redo else [p for p in papers if done_with(p, data) and not files_current(p, folder.path, request.pdf)]
        if not todo and not stale:
            raise InputError(_nothing_to_do(folder.path, request.paper_id, bool(papers)))
        result = CompleteResult(folder.path, request.pdf, rewritten=len(stale))
        start = time.perf_counter()
        result.written = [_export(p, result) for p in stale]
        if todo:
            _complete_each(todo, data, choice, sessions, result, report)
        with folder.store() as store:  # this stage's tokens only, not the earlier stage's
            result.stats = Stats.of(store, "complete", time.perf_counter() - start).since(before)
    return result


def read_results(results: Path | Any) -> Any:
    """The results as read from a file (checked), or the value given (checked)."""
    from ..paper.results import load_results, validate_results

    if not isinstance(results, Path):
        validate_results(results, "results file")
        return results
    try:
        text = results.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{results} is not UTF-8 text ({exc}). Give a JSON list of {{name, result}} objects.") from exc
    return load_results(text, str(results))[0]


def done_with(paper: Paper, data: Any) -> bool:
    """Completed with exactly these real results (a rerun of the same ``complete``)."""
    if paper.stage is Stage.AWAITING_RESULTS or paper.results_simulated:
        return False
    return json.dumps(paper.experimental_results, sort_keys=True) == json.dumps(data, sort_keys=True)


def _papers(store: Any) -> list[Paper]:
    from ..paper import Paper
    from ..research.settings import PAPER

    return [Paper.from_dict(d) for _, d in store.items(PAPER)]


def _no_such_paper(run: Path, paper_id: str, papers: list[Paper]) -> str:
    ids = [str(p.id) for p in papers]
    listed = f"its papers: {', '.join(ids[:10])}{', ...' if len(ids) > 10 else ''}" if ids else "it has no paper yet"
    return f"No paper with id {paper_id!r} in {run}; {listed}. Pass one of them to --paper, or leave --paper out."


def _nothing_to_do(run: Path, paper_id: str | None, any_paper: bool) -> str:
    which = f" with id {paper_id}" if paper_id else ""
    hint = (
        " Its paper(s) are complete and their files up to date: add --redo to replace their results "
        "(the earlier version is kept)."
        if any_paper
        else " Generate with --two-stage first."
    )
    return f"No paper awaiting results in {run}{which}.{hint}"


def _complete_each(
    todo: list[Paper], data: Any, choice: ModelChoice, sessions: Sessions, result: CompleteResult, report: Report
) -> None:
    """Turn 5 for each paper on the session's engine; a paper that fails stays awaiting results
    and the others go on."""
    from ..research import CycleResearcher, ResearchSettings

    report.step(f"loading the model ({choice.name()})", len(todo))
    researcher = CycleResearcher(
        model=choice.model, engine=sessions.engine(choice, "researcher"), run_dir=result.run, constrain=choice.constrain
    )
    settings = ResearchSettings(max_tokens=choice.max_tokens, constrain=choice.constrain)
    report.step(f"writing {len(todo)} results section(s)", len(todo))
    try:  # the engine stays with the session; the store is ours
        with reporting(report.tokens(f"writing {len(todo)} results section(s)")):
            for paper in todo:
                try:
                    done = researcher.complete(paper, data, settings)
                except EngineError as exc:
                    result.failures.append(str(exc))
                else:
                    result.written.append(_export(done, result))
                report.advance()
    finally:
        researcher.store.close()


def _export(paper: Paper, result: CompleteResult) -> dict[str, Any]:
    from ..paper.export import export_paper

    return export_paper(paper, result.run, pdf=result.pdf)


__all__ = ["COMMAND", "CompleteRequest", "CompleteResult", "complete", "done_with", "read_results"]
