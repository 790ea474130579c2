"""CycleResearcher: reference sets -> requests -> engine -> Paper records, through the run store.

Two ways to finish a paper (FORMATS.md §1):

* ``simulate`` (the model card's default): one generation with EOS ignored; the model writes the
  experiment results turn itself, so the paper is marked ``results_simulated=True`` everywhere.
* ``two-stage``: generation stops after the experiment setup; the user runs the experiments and
  supplies real results (``complete``), turn 5 is generated as a multi-turn chat with the first
  three turns, and the paper is marked ``results_simulated=False``.

The ``n`` samples of one reference set are one request with ``sampling.n = n``. The run store sends
it whole to engines that draw n at once (vLLM, HF), and one sample at a time to the others
(llama.cpp reuses the prompt's KV cache between them; an HTTP server gets concurrent requests), so
each paper is stored and exported the moment its sample finishes and a kill loses none of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..engines.base import ChatRequest, Engine, SamplingParams
from ..engines.runner import run_requests
from ..errors import ContextLengthError, EngineError, InputError, PromptTooLongError
from ..models.session import ModelSession, SessionUser
from ..paper import Paper, complete_paper, parse_paper, parse_stage1
from ..paper.local_paths import public_meta
from ..paper.record import Stage
from ..paper.results import load_results, validate_results
from ..prompts.research import STOP_STRINGS, build_messages, results_message
from ..references import (
    Reference,
    ReferenceSet,
    fit_references,
    load_references,
    render_references,
    to_bibtex,
)
from ..store import RunStore, SampleResult, request_key
from .settings import (
    PAPER,
    PAPER_VERSION,
    REFSET,
    STAGE1_STOP,
    UPSTREAM_MAX_TOKENS,
    PreparedSet,
    ResearchSettings,
)
from .stages import store_paper


def _set_id(source: str, block: str) -> str:
    stem = Path(source).stem if source else "refs"
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem)[:40] or "refs"
    return f"{stem}-{hashlib.sha256(block.encode()).hexdigest()[:8]}"


def _no_room(ctx: int | None, max_new: int, used: int) -> str:
    """Max new tokens as large as the context: the prompt has no room at all."""
    than = "more than" if max_new > (ctx or 0) else "all of"
    return (
        f"Max new tokens (--max-tokens) {max_new} is {than} the model's context ({ctx}): lower it, "
        f"leaving room for the prompt ({used} tokens here)."
    )


def _too_long(source: str, used: int, ctx: int | None, max_new: int, explicit: bool) -> PromptTooLongError:
    """The prompt over its budget; lowering max new tokens is named first where that alone makes room
    (each shell words the ways out: ``PromptTooLongError.worded``)."""
    head = (
        f"The prompt for {source or 'this reference set'} takes {used} tokens but the model's context "
        f"leaves {(ctx or 0) - max_new} for it ({ctx} minus {max_new} new tokens)."
    )
    room = ctx - used if explicit and ctx is not None and used < ctx else None
    return PromptTooLongError(head, room)


class CycleResearcher(SessionUser):
    """Generate research papers from references with the CycleResearcher models.

    >>> researcher = CycleResearcher(model_size="12B")            # doctest: +SKIP
    >>> papers = researcher.generate_paper(topic="...", references=bib_text, n=2)  # doctest: +SKIP

    ``model`` may be a size alias, a hub id, a local dir, a GGUF path or ``"embedded"``; with no model
    and no GPU the embedded SmolLM2 stand-in is used. ``engine``/``base_url`` select the backend.
    """

    def __init__(
        self,
        model_size: str | None = None,
        *,
        model: str | None = None,
        engine: str | Engine | None = None,
        base_url: str | None = None,
        run_dir: str | Path | None = None,
        constrain: bool | None = None,
        **engine_kwargs: Any,
    ):
        #: the engine, the model kind, constrain (the default of ResearchSettings.constrain), the
        #: fitted grammars and the embedded profile
        self.session = ModelSession(
            model or model_size, "researcher", engine, base_url, constrain=constrain, engine_kwargs=engine_kwargs
        )
        self.store = RunStore(run_dir) if run_dir is not None else None
        #: papers a generate left as they were in the store (id -> why): see ``stages.store_paper``
        self.kept: dict[str, str] = {}

    # -- the model session ----------------------------------------------------------------------
    def close(self) -> None:
        self.session.close()
        if self.store is not None:
            self.store.close()

    # -- preparing prompts ----------------------------------------------------------------------
    def prepare(
        self,
        reference_sets: Sequence[PreparedSet | ReferenceSet | str | Path | Sequence[Reference]],
        settings: ResearchSettings,
    ) -> list[PreparedSet]:
        """Load, render and fit each reference set; raise ContextLengthError before any generation."""
        prepared = []
        for item in reference_sets:
            if isinstance(item, PreparedSet):  # already fitted (the CLI prepares first to report warnings)
                prepared.append(item)
                continue
            if isinstance(item, ReferenceSet):
                rs = item
            elif isinstance(item, (str, Path)):
                rs = load_references(item)
            else:
                rs = ReferenceSet(references=list(item), warnings=[], sources=[])
            source = str(rs.sources[0]) if getattr(rs, "sources", None) else ""
            refs = list(rs.references)
            if not refs:
                raise InputError(
                    f"No references in {source or 'the input'}: give a .bib file with entries or a paper-record JSON."
                )
            prepared.append(self._fit(rs, source, settings, list(rs.warnings)))
        return prepared

    def _budget(self, settings: ResearchSettings) -> tuple[int | None, int]:
        """(prompt token budget, max new tokens) for this engine and settings."""
        ctx = self.engine.context_length
        if settings.max_tokens is not None:
            max_new = settings.max_tokens
        elif (profile := self.session.profile) is not None:
            # with the grammar on, room for the whole bounded structure (it stops at its end)
            max_new = profile.paper_tokens(self.session.constrained(settings.constrain))
        else:
            max_new = UPSTREAM_MAX_TOKENS
        if ctx is None:
            return None, max_new
        if settings.max_tokens is None:
            # leave the prompt at least half the window when the upstream default would not fit
            max_new = min(max_new, ctx // 2)
        return ctx - max_new, max_new

    def _fit(
        self, rs: ReferenceSet, source: str, settings: ResearchSettings, warnings: list[str]
    ) -> PreparedSet:
        budget, _ = self._budget(settings)
        refs = list(rs.references)
        block_of: ReferenceSet | list[Reference] = (
            rs  # the set keeps an already formatted block byte for byte
        )

        def count(rs: list[Reference]) -> int:
            return self.engine.count_tokens(build_messages(render_references(rs), settings.topic))

        dropped: list[str] = []
        if budget is not None:
            used = count(refs)
            if used > budget:
                explicit = settings.max_tokens is not None
                if explicit and budget <= 0:  # no reference choice can help: the new tokens take it all
                    raise ContextLengthError(_no_room(self.engine.context_length, self._budget(settings)[1], used))
                if not settings.drop_to_fit:
                    raise _too_long(source, used, self.engine.context_length, self._budget(settings)[1], explicit)
                try:
                    fit = fit_references(refs, count, budget, topic=settings.topic)
                except ContextLengthError as exc:
                    if not explicit:
                        raise
                    raise ContextLengthError(
                        f"The prompt does not fit the {budget}-token budget ({self.engine.context_length} context "
                        f"minus {self._budget(settings)[1]} new tokens) even with only the most relevant "
                        "reference: lower max new tokens (--max-tokens) first, or use a model with a longer context."
                    ) from exc
                refs = list(fit.kept)
                block_of = refs
                dropped = [r.key for r in fit.dropped]
                warnings.append(
                    f"dropped {len(dropped)} least relevant references to fit the context: {', '.join(dropped)}"
                )
        block = render_references(block_of)
        messages = build_messages(block, settings.topic)
        return PreparedSet(
            _set_id(source, block + (settings.topic or "")), source, refs, messages, dropped, warnings
        )

    def _grammar(self, settings: ResearchSettings, name: str, max_tokens: int) -> str | None:
        """The structure's GBNF with its bounded free text fitted to ``max_tokens``
        (``prompts.grammars.capacity``), or None when constraining is off."""
        return self.session.grammar(name, max_tokens, bounds=settings.bounds, constrain=settings.constrain)[0]

    def _sampling(
        self,
        settings: ResearchSettings,
        *,
        stage1: bool = False,
        n: int | None = None,
        structure: str | None = None,
    ) -> SamplingParams:
        _, max_new = self._budget(settings)
        stop = list(STOP_STRINGS)
        if stage1:
            stop.append(STAGE1_STOP)
        grammar = self._grammar(
            settings, structure or ("researcher-stage1" if stage1 else "researcher"), max_new
        )
        penalty, window = self.session.repetition(settings.repeat_penalty, settings.repeat_last_n)
        return SamplingParams(
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=max_new,
            stop=stop,
            n=settings.n if n is None else n,
            seed=settings.seed,
            # simulate: keep writing past the end of turn 3 (the model then writes turns 4 and 5
            # itself); a grammar holds all turns, so EOS then ends the finished structure
            ignore_eos=not stage1 and not grammar,
            grammar=grammar,
            grammar_optional=grammar is not None and self.session.grammar_optional(settings.constrain),
            repeat_penalty=penalty,
            repeat_last_n=window,
        )

    # -- generation -----------------------------------------------------------------------------
    def generate(
        self,
        reference_sets: Sequence[PreparedSet | ReferenceSet | str | Path | Sequence[Reference]],
        settings: ResearchSettings | None = None,
        on_paper: Callable[[Paper], None] | None = None,
        *,
        redo: bool = False,
    ) -> list[Paper]:
        """Generate ``settings.n`` papers per reference set. Finished papers are stored at once;
        with a run directory, a rerun skips every request already done (resume). A stored paper
        never moves back (a completed one is not replaced by its stage-1 draft or a simulated
        one, see ``stages.store_paper``) unless ``redo``; it is then kept as an earlier version."""
        settings = settings or ResearchSettings()
        prepared = self.prepare(reference_sets, settings)
        stage1 = settings.mode == "two-stage"
        requests, keys = [], []
        for ps in prepared:
            req = ChatRequest(
                messages=ps.messages, sampling=self._sampling(settings, stage1=stage1), request_id=ps.set_id
            )
            requests.append(req)
            keys.append(request_key("research", req, extra={"model": self.engine.model_id}))
            if self.store is not None:
                self.store.put(
                    REFSET,
                    ps.set_id,
                    {
                        "source": ps.source,
                        "messages": ps.messages,
                        "dropped": ps.dropped,
                        "bibtex": to_bibtex(ps.references),
                        "warnings": ps.warnings,
                        "topic": settings.topic,
                    },
                )
        papers: dict[tuple[int, int], Paper] = {}

        def sample_done(i: int, sample: SampleResult) -> None:
            paper = self._paper_from(prepared[i], sample, settings, stage1)
            papers[(i, sample.index)] = paper
            # a failed sample is returned (it says why) but not stored as a paper: nothing is
            # exported, reviewed or completed from it (its sample is drawn again on resume)
            if self.store is not None and not paper.meta.get("error"):
                paper, why_kept = store_paper(self.store, paper, redo)
                if why_kept:
                    self.kept[paper.id] = why_kept
                papers[(i, sample.index)] = paper
            if on_paper:
                on_paper(paper)

        run_requests(self.engine, self.store, "research", requests, keys, on_sample=sample_done)
        return [papers[key] for key in sorted(papers)]

    def _paper_from(
        self, ps: PreparedSet, sample: SampleResult, settings: ResearchSettings, stage1: bool
    ) -> Paper:
        """Sample k's paper; a failed sample gives a paper with no text that says why (so it is
        listed as failed, and generated again on resume)."""
        k = sample.index
        comp = sample.completion if sample.ok else None
        if comp is None:
            paper = parse_paper("", results_simulated=not stage1)
            paper = replace(
                paper,
                id=f"{ps.set_id}-s{k}",
                warnings=[f"generation failed: {sample.error}", *paper.warnings],
            )
            paper = self._annotate(paper, ps, settings, k, None)
            paper.meta["error"] = sample.error or "generation failed"
            return paper
        paper = parse_stage1(comp.text) if stage1 else parse_paper(comp.text, results_simulated=True)
        paper = replace(paper, id=f"{ps.set_id}-s{k}")
        if comp.finish_reason == "length":
            paper.warnings.append(
                f"generation stopped at max_tokens ({self._budget(settings)[1]}); the paper may be truncated"
            )
        paper.warnings += [w for w in sample.warnings if w not in paper.warnings]
        paper = self._annotate(paper, ps, settings, k, comp.finish_reason)
        if not comp.text.strip():
            paper.meta["error"] = "the model returned an empty completion"
        return paper

    def _annotate(
        self,
        paper: Paper,
        ps: PreparedSet,
        settings: ResearchSettings,
        k: int,
        finish: str | None,
    ) -> Paper:
        paper.topic = settings.topic
        paper.references_bib = to_bibtex(ps.references)
        # the paper names its files and model, not the folders they are in (the run store's
        # reference set keeps the path); reading the references is not parsing the paper: its
        # warnings are kept apart from the parser's
        paper.meta = public_meta(
            {
                **(paper.meta or {}),
                "reference_set": ps.set_id,
                "source": ps.source,
                "sample": k,
                "stage": (Stage.AWAITING_RESULTS if settings.mode == "two-stage" else Stage.COMPLETE).value,
                "finish_reason": finish,
                "engine": self.engine.describe(),
                "dropped_references": ps.dropped,
                "reference_warnings": list(ps.warnings),
            }
        )
        return paper

    # -- two-stage completion -------------------------------------------------------------------
    def complete(self, paper: Paper, results: Any, settings: ResearchSettings | None = None) -> Paper:
        """Turn 5 with REAL results: a multi-turn chat [system, user, assistant turn 3, user results].

        ``results`` must have the documented shape (``results.validate_results``). A paper that is
        already complete (simulated, or completed before) is redone: its earlier record is kept in
        the store as ``paper_version`` ``<id>.v<N>`` and listed in ``meta["versions"]``."""
        settings = settings or ResearchSettings()
        if isinstance(results, (str, bytes)):
            results = load_results(results if isinstance(results, str) else results.decode("utf-8"))[0]
        validate_results(results)
        messages = self._stage1_messages(paper)
        if messages is None:
            raise InputError(
                f"Paper {paper.id} has no stored prompt; complete it from the run directory that generated it."
            )
        turn3 = paper.generated_text.split(STAGE1_STOP)[0].rstrip()  # a redo drops the earlier turns 4-5
        chat = [
            *messages,
            {"role": "assistant", "content": turn3},
            {"role": "user", "content": results_message(results)},
        ]
        req = ChatRequest(
            messages=chat,
            sampling=replace(self._sampling(settings, n=1, structure="researcher-turn5"), ignore_eos=False),
            request_id=paper.id,
        )
        key = request_key("complete", req, extra={"model": self.engine.model_id})
        [result] = run_requests(self.engine, self.store, "complete", [req], [key])
        if not result.ok or not result.text.strip():
            raise EngineError(
                f"Generating the results section of {paper.id} failed: {result.error or 'empty completion'}. "
                "Rerun the command to retry."
            )
        done = complete_paper(paper, results, result.text)
        versions = list((paper.meta or {}).get("versions") or [])
        if paper.stage is not Stage.AWAITING_RESULTS:
            versions.append({"version": len(versions) + 1, "results_simulated": paper.results_simulated})
            if self.store is not None:
                self.store.put(PAPER_VERSION, f"{paper.id}.v{len(versions)}", paper.to_dict())
        done.meta = {
            **(paper.meta or {}),
            "stage": Stage.COMPLETE.value,
            "finish_reason": result.completions[0].finish_reason,
            "versions": versions,
        }
        if self.store is not None:
            self.store.put(PAPER, done.id, done.to_dict())
        return done

    def _stage1_messages(self, paper: Paper) -> list[dict[str, str]] | None:
        set_id = (paper.meta or {}).get("reference_set")
        if self.store is not None and set_id:
            stored = self.store.get(REFSET, set_id)
            if stored:
                return stored["messages"]
        return None

    def stored_papers(self) -> list[Paper]:
        if self.store is None:
            return []
        return [Paper.from_dict(d) for _, d in self.store.items(PAPER)]

    # -- the original package's API -------------------------------------------------------------
    def generate_paper(
        self,
        topic: str | None = None,
        references: str | Path | Sequence[Reference] | None = None,
        n: int = 1,
        *,
        max_tokens: int | None = None,
        temperature: float = 0.4,
        top_p: float = 0.95,
        seed: int | None = None,
        drop_to_fit: bool = False,
        constrain: bool | None = None,
    ) -> list[dict[str, Any]]:
        """As in the original package: a list of ``n`` paper dicts with the model-card keys
        (``title``, ``abstract``, ``latex``, ``motivation``, ``idea``, ``Experimental_Setup``,
        ``Experimental_results``, ...). ``references`` is BibTeX text, a file path, or References."""
        if references is None:
            raise InputError(
                "generate_paper needs references: BibTeX text, a .bib/.json path, or a list of References."
            )
        ref_set = load_references(references)  # a path, BibTeX/JSON content, or References
        settings = ResearchSettings(
            n=n,
            topic=topic,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            drop_to_fit=drop_to_fit,
            constrain=constrain,
        )
        return [p.to_dict() for p in self.generate([ref_set], settings)]
