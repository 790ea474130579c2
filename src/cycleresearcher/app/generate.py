"""Generate papers from reference sets: ``research generate`` and the page's Generate form.

One function, ``generate``, owns what both shells did on their own before (and drifted on): the
resume and same-settings rules, reading the references (strict or lenient), enrichment, the
budget line, the researcher on the session's engine, the store's meta, the exports, the novelty
check and the token counts. The engine is asked of the session only after the references were
read, so a broken .bib fails in a second, before any model loads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..progress import reporting
from ..store import is_run_dir
from .novelty import PaperCheck
from .report import Report, about
from .runfolder import check_resume, check_same_settings, new_run_dir, run_lock
from .session import ModelChoice, Sessions

if TYPE_CHECKING:
    from ..paper import Paper
    from ..references import ReferenceSet
    from ..research import ResearchSettings
    from ..store import RunStore

#: the store's ``command`` meta and the run lock's holder, whichever shell asked
COMMAND = "research generate"


@dataclass(frozen=True)
class Upload:
    """A reference set a user uploaded or pasted: its bytes and the file name shown for it."""

    data: bytes
    name: str


@dataclass
class Stats:
    """Tokens and time of one command's requests (its own stage only), and its wall time."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    engine_s: float = 0.0
    elapsed_s: float = 0.0

    @property
    def tok_s(self) -> float:
        return self.completion_tokens / self.engine_s if self.engine_s else 0.0

    @classmethod
    def of(cls, store: RunStore, stage: str, elapsed_s: float) -> Stats:
        s = store.summary().get(stage, {})
        return cls(
            int(s.get("prompt_tokens", 0)),
            int(s.get("completion_tokens", 0)),
            float(s.get("elapsed_s", 0.0)),
            elapsed_s,
        )

    def since(self, before: Stats) -> Stats:
        """This command's share: the store's totals less those ``before`` it ran (a resume or a
        rerun finds earlier requests there, which this command did not generate)."""
        return Stats(
            max(0, self.prompt_tokens - before.prompt_tokens),
            max(0, self.completion_tokens - before.completion_tokens),
            max(0.0, self.engine_s - before.engine_s),
            self.elapsed_s,
        )

    @property
    def generated(self) -> bool:
        """Did this command's requests generate anything (not all taken from the run store)?"""
        return bool(self.prompt_tokens or self.completion_tokens)


@dataclass
class PapersResult:
    """What a command that writes papers did: each written paper's export info
    (``paper.export.export_paper``), the failed requests (nothing exported for them), the counts."""

    run: Path
    #: PDFs were asked for (never for a paper awaiting results)
    pdf: bool
    written: list[dict[str, Any]] = field(default_factory=list)
    #: one line per failed request: what failed and why
    failures: list[str] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)

    @property
    def simulated(self) -> int:
        return sum(1 for info in self.written if info.get("results_simulated", True))

    @property
    def ungrounded(self) -> int:
        return sum(info.get("ungrounded") or 0 for info in self.written)


@dataclass
class GenerateRequest:
    #: reference sets, one paper set each: a path, or an upload
    refs: list[Path | Upload]
    settings: ResearchSettings
    choice: ModelChoice = field(default_factory=ModelChoice)
    #: the run folder; None: a new ``runs/research-<timestamp>``
    run_dir: Path | None = None
    pdf: bool = True
    #: continue the run in ``run_dir`` (required when it holds one)
    resume: bool = False
    #: generate again where the run's papers are further on or its settings differ
    redo: bool = False
    #: refuse a reference file with an entry that cannot be read (else it is skipped, with a warning)
    strict: bool = False
    #: fill missing abstracts from the scholarly services first (sends DOIs, ids and titles)
    enrich: bool = False
    #: check each paper offline for close prior work among its references
    novelty: bool = False


@dataclass
class GenerateResult(PapersResult):
    two_stage: bool = False
    #: papers left as they were, further on than this command would take them: (id, why)
    kept: list[tuple[str, str]] = field(default_factory=list)
    #: the novelty verdict of each checked paper: (id, verdict)
    novelty: list[tuple[str, str]] = field(default_factory=list)

    @property
    def engine_notes(self) -> list[str]:
        """The engine's limitations (a server that ignored ignore_eos), once, not once per paper."""
        notes = {w: None for info in self.written for w in info.get("paper_warnings", []) if w.startswith("engine:")}
        return list(notes)

    @property
    def ok(self) -> bool:
        """No request failed and a paper came out (papers kept as they were count as come out)."""
        return not self.failures and bool(self.written or self.kept)


def generate(request: GenerateRequest, sessions: Sessions, report: Report) -> GenerateResult:
    """Generate ``settings.n`` papers per reference set into the run folder and export each one.

    A folder this call created is removed again when it fails before any work was stored."""
    settings = effective_settings(request.settings, request.choice)
    with new_run_dir(request.run_dir, "research") as directory:
        check_resume(directory, request.resume)
        with run_lock(directory, COMMAND):  # one process per run folder
            return _generate(request, settings, directory, sessions, report)


def effective_settings(settings: ResearchSettings, choice: ModelChoice) -> ResearchSettings:
    """The settings with the model choice's token limit and constrain where they name none: the
    page sets them on the choice, the CLI on the settings; the run stores the same either way."""
    return replace(
        settings,
        max_tokens=settings.max_tokens if settings.max_tokens is not None else choice.max_tokens,
        constrain=settings.constrain if settings.constrain is not None else choice.constrain,
    )


def _generate(
    request: GenerateRequest, settings: ResearchSettings, directory: Path, sessions: Sessions, report: Report
) -> GenerateResult:
    from ..research import CycleResearcher
    from ..store import RunStore

    if not request.redo and is_run_dir(directory):  # before any engine loads
        with RunStore(directory) as earlier:
            check_same_settings(directory, earlier.get_meta("settings"), settings.__dict__)
    sets = _load(request.refs, request.strict)
    if request.enrich:  # only when asked: it sends DOIs, arXiv ids and titles to the scholarly services
        sets = _enrich(sets, directory, report)
    say_budget(sets, request.choice.model, settings, report)
    report.step(f"loading the model ({request.choice.name()})", len(sets) * settings.n)
    researcher = CycleResearcher(
        model=request.choice.model,
        engine=sessions.engine(request.choice, "researcher"),
        run_dir=directory,
        constrain=request.choice.constrain,
    )
    store = researcher.store
    assert store is not None
    result = GenerateResult(directory, request.pdf and settings.mode != "two-stage", two_stage=settings.mode == "two-stage")
    start = time.perf_counter()
    before = Stats.of(store, "research", 0.0)  # a resume's earlier requests are not this command's
    try:  # the engine stays with the session (a page's next job reuses it); the store is ours
        store.set_meta("command", COMMAND)
        store.set_meta("settings", settings.__dict__)
        prepared = researcher.prepare(sets, settings)
        for ps in prepared:
            for w in ps.warnings:
                report.warn(about(ps.source, w))
        total = len(prepared) * settings.n
        report.step(f"generating {total} paper(s)", total)
        on_paper = _OnPaper(researcher, result, report, PaperCheck(directory, store) if request.novelty else None)
        with reporting(report.tokens(f"generating {total} paper(s)")):
            researcher.generate(prepared, settings, on_paper=on_paper, redo=request.redo)
        result.stats = Stats.of(store, "research", time.perf_counter() - start).since(before)
    finally:
        store.close()
    return result


def _load(sources: list[Path | Upload], strict: bool) -> list[ReferenceSet]:
    """One reference set per file; an @string-only file (IEEEabrv.bib) serves the sets after it."""
    from ..references import load_reference_sets

    data = [s.data if isinstance(s, Upload) else s for s in sources]
    return load_reference_sets(data, strict=strict, names=[getattr(s, "name", None) for s in sources])


def _enrich(sets: list[ReferenceSet], directory: Path, report: Report) -> list[ReferenceSet]:
    """Each set enriched, its report in the run folder (``enrichment.json``, ...)."""
    from ..references.enrich import enrich_to_run
    from .enrich import enrich_progress

    progress = enrich_progress(report)
    out = []
    for refs in sets:
        report.step(f"enriching {', '.join(map(str, refs.sources)) or 'the references'}")
        out.append(enrich_to_run(refs, directory, progress))
    return out


def say_budget(sets: list[ReferenceSet], model: str | None, settings: ResearchSettings, report: Report) -> None:
    """For a released CycleResearcher model (a known context), a warning per reference set over its
    budget: the estimated count and the way out. The exact count, with the model's tokenizer,
    still decides before generation."""
    from ..models import UPSTREAM_CONTEXT, model_kind
    from ..references import render_references
    from ..references.budget import check_budget
    from ..references.explain import UPSTREAM_NEW_TOKENS

    if model is None or model_kind(model) != "released":
        return
    for rs in sets:
        check = check_budget(
            render_references(rs), UPSTREAM_CONTEXT["researcher"], settings.max_tokens or UPSTREAM_NEW_TOKENS
        )
        if not check.fits:
            report.warn(check.line(rs.sources[0] if rs.sources else "references", dropping=settings.drop_to_fit))


class _OnPaper:
    """Each paper as its sample finishes: a failure listed (nothing exported for it), a paper the
    store kept as it was listed with why, any other exported (and checked for novelty)."""

    def __init__(self, researcher: Any, result: GenerateResult, report: Report, check: PaperCheck | None):
        self.researcher, self.result, self.report, self.check = researcher, result, report, check

    def __call__(self, paper: Paper) -> None:
        from ..paper.export import export_paper

        error = (paper.meta or {}).get("error")
        if error:  # nothing to export: no paper.json / .md / .tex / PDF saying "failed"
            self.result.failures.append(f"{paper.id}: {error}")
        elif paper.id in self.researcher.kept:  # the store and its files stay as they were
            self.result.kept.append((str(paper.id), self.researcher.kept[paper.id]))
        else:
            self.report.step(f"exporting {paper.id}")
            info = export_paper(paper, self.result.run, pdf=self.result.pdf)
            self.result.written.append({**info, "paper_warnings": list(paper.warnings)})
            if self.check is not None:
                self.report.step(f"checking {paper.id} for close prior work")
                self.result.novelty.append((str(paper.id), self.check(paper).verdict))
        self.report.advance()


__all__ = [
    "COMMAND",
    "GenerateRequest",
    "GenerateResult",
    "PapersResult",
    "Stats",
    "Upload",
    "effective_settings",
    "generate",
    "say_budget",
]
