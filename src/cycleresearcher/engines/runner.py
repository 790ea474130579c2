"""The run-store-backed runner: send requests through an engine, sample by sample, and commit each
finished sample to the ``RunStore`` as it arrives, so a killed run loses nothing finished and a
resume asks only for what is missing (the k-th sample of a request keeps its seed, ``seed + k``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..store import RunStore, SampleResult, request_key
from .base import ChatRequest, Completion, Engine, GenerationResult, TokenProgress

if TYPE_CHECKING:
    from ..progress import Reporter

OnSample = Callable[[int, SampleResult], None]


def sample_request(request: ChatRequest, first: int, count: int = 1) -> ChatRequest:
    """The part of ``request`` that asks for samples ``first .. first + count - 1``: sample k is
    seeded ``seed + k``, as the llama.cpp engine seeds the k-th of n, so a resumed run draws
    the samples the killed one would have."""
    seed = request.sampling.seed
    sampling = replace(request.sampling, n=count, seed=None if seed is None else seed + first)
    return replace(request, sampling=sampling, first_sample=request.first_sample + first)


def _failure_summary(failed: Sequence[SampleResult], n: int) -> str:
    by_error: dict[str, list[int]] = {}
    for s in failed:
        by_error.setdefault(s.error or "no result", []).append(s.index)
    if n == 1:
        return next(iter(by_error))
    parts = [
        f"sample{'s' if len(ks) > 1 else ''} {', '.join(map(str, ks))}: {err}" for err, ks in by_error.items()
    ]
    return f"{len(failed)} of {n} samples failed ({'; '.join(parts)})"


def _assemble(samples: dict[int, SampleResult], n: int, request_id: str | None) -> GenerationResult:
    """The request's result from its n settled samples; any failed one makes it a failed request
    whose completions keep their places (failed slots are empty with finish_reason "error")."""
    ordered = [samples[k] for k in range(n)]
    failed = [s for s in ordered if not s.ok]
    return GenerationResult(
        completions=[
            s.completion if s.completion is not None and s.ok else Completion("", "error", 0) for s in ordered
        ],
        prompt_tokens=next((s.prompt_tokens for s in ordered if s.prompt_tokens is not None), None),
        elapsed_s=sum(s.elapsed_s for s in ordered),
        error=_failure_summary(failed, n) if failed else None,
        request_id=request_id,
        warnings=list(dict.fromkeys(w for s in ordered for w in s.warnings)),
    )


def run_requests(
    engine: Engine,
    store: RunStore | None,
    stage: str,
    requests: Sequence[ChatRequest],
    keys: Sequence[str] | None = None,
    on_result: Callable[[int, GenerationResult], None] | None = None,
    on_sample: OnSample | None = None,
    progress: Reporter | None = None,
) -> list[GenerationResult]:
    """Run ``requests`` through ``engine``, skipping what the store already has done.

    Every sample is committed as soon as the engine reports it. An engine that draws samples one
    at a time (``engine.samples_at_once`` false: llama.cpp, HTTP) gets one single-sample request
    per sample, so each finished one is kept even when the run or the server dies mid-request;
    one that draws all n together (vLLM, HF) gets the request whole. A request with k of its n
    samples stored asks only for the n - k missing ones; failed samples are retried on the next
    resume. ``on_sample(i, sample)`` is called once per sample, stored or new, done or failed;
    ``on_result(i, result)`` once per request when all its samples are settled.

    ``progress`` (default: the ambient ``progress.reporting`` one) sees the requests sent as one
    batch: token events from engines that report them, and a done event per finished request.
    """
    if keys is None:
        keys = [request_key(stage, r) for r in requests]
    results: list[GenerationResult | None] = [None] * len(requests)
    settled: dict[int, dict[int, SampleResult]] = {}
    # (request index, sample indices it asks for, the request sent)
    sends: list[tuple[int, list[int], ChatRequest]] = []
    at_once = bool(getattr(engine, "samples_at_once", False))
    # a request whose key came earlier in this batch is the same work: it is sent once and its
    # copies get the first one's samples and result (the store can hold only one of them anyway)
    first_of: dict[str, int] = {}
    copies: dict[int, list[int]] = {}

    def sample_done(i: int, sample: SampleResult) -> None:
        if on_sample:
            for j in (i, *copies.get(i, ())):
                on_sample(j, sample)

    def finish(i: int) -> None:
        res = _assemble(settled.pop(i), requests[i].sampling.n, requests[i].request_id)
        if store is not None:
            store.save_result(keys[i], res)
        results[i] = res
        if on_result:
            on_result(i, res)
        for j in copies.get(i, ()):
            results[j] = replace(res, request_id=requests[j].request_id)
            if on_result:
                on_result(j, results[j])

    stored_whole: list[int] = []
    for i, (key, req) in enumerate(zip(keys, requests, strict=True)):
        cached = store.get_result(key) if store is not None else None
        if cached is not None:
            results[i] = cached
            if on_sample:
                for k, comp in enumerate(cached.completions):
                    on_sample(
                        i,
                        SampleResult(
                            k, comp, prompt_tokens=cached.prompt_tokens, warnings=list(cached.warnings)
                        ),
                    )
            if on_result:
                on_result(i, cached)
            continue
        if key in first_of:
            first = first_of[key]
            copies.setdefault(first, []).append(i)
            if on_sample:
                for k in sorted(settled[first]):
                    on_sample(i, settled[first][k])
            continue
        first_of[key] = i
        have = store.samples(key, done_only=True) if store is not None else {}
        if store is not None:
            store.mark_pending(key, stage, req)
        settled[i] = dict(have)
        for k in sorted(have):
            sample_done(i, have[k])
        missing = [k for k in range(req.sampling.n) if k not in have]
        if not missing:  # killed after its last sample was stored, before the request was closed
            stored_whole.append(i)
        elif at_once:
            sends.append((i, missing, sample_request(req, missing[0], len(missing))))
        else:
            sends.extend((i, [k], sample_request(req, k)) for k in missing)
    for i in stored_whole:  # after the loop, so that later copies of the request are known
        finish(i)

    def _done(j: int, res: GenerationResult) -> None:
        i, ks, sent = sends[j]
        if reporter is not None:
            budget = sent.sampling.max_tokens * sent.sampling.n
            reporter.update(
                TokenProgress(j, sent.request_id, res.completion_tokens, budget, res.elapsed_s, done=True)
            )
        per = res.elapsed_s / len(ks)
        for pos, k in enumerate(ks):
            if res.ok and pos < len(res.completions):
                sample = SampleResult(
                    k, res.completions[pos], None, res.prompt_tokens, per, warnings=list(res.warnings)
                )
            else:
                error = res.error or f"the engine returned {len(res.completions)} of {len(ks)} samples"
                sample = SampleResult(k, None, error, res.prompt_tokens, per)
            if store is not None:
                store.save_sample(keys[i], sample)
            settled[i][k] = sample
            sample_done(i, sample)
        if len(settled[i]) == requests[i].sampling.n:
            finish(i)

    if progress is None:
        from ..progress import current

        progress = current()
    reporter = progress
    if sends:
        batch = [r for _, _, r in sends]
        if reporter is None:
            engine.generate(batch, on_result=_done)
        else:
            skipped = sum(r.sampling.n for r in requests) - sum(len(ks) for _, ks, _ in sends)
            if at_once:  # one unit per request
                skipped = len(requests) - len({i for i, _, _ in sends})
            reporter.begin(stage, [r.sampling.max_tokens * r.sampling.n for r in batch], skipped)
            try:
                engine.generate(batch, on_result=_done, on_progress=reporter.update)
            finally:
                reporter.end()
    for i in list(settled):  # an engine that skipped a request: its missing samples fail, not vanish
        for k in range(requests[i].sampling.n):
            if k not in settled[i]:
                sample = SampleResult(k, None, "engine returned no result")
                if store is not None:
                    store.save_sample(keys[i], sample)
                settled[i][k] = sample
                sample_done(i, sample)
        finish(i)
    return [r if r is not None else GenerationResult(error="engine returned no result") for r in results]
