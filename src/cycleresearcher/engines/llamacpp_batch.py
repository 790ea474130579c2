"""Several sequences per llama.cpp decode step: the n samples of a request and the requests of a
batch, up to ``LlamaCppEngine.max_sequences`` at once (continuous batching).

Decoding a small model on a CPU reads every weight once per step; a ``llama_decode`` batch that
holds one token of each running sequence shares that read. Each sequence has its own seq id in
llama.cpp's unified KV cache, its own sampler chain (the one ``Llama.generate`` builds: penalties,
top-p, temperature, a dist seeded ``seed + k``; the grammar in front when there is one), its own
stop strings and token budget. A sequence starts from the longest prompt prefix any sequence in the
cache holds (``llama_memory_seq_cp`` shares the cells, nothing is recomputed), so samples 2..n of a
request evaluate one prompt token each; a sequence whose prompt a running prefill will hold waits
for it. A request's result goes to ``batch.done`` (``on_result``) as soon as its last sequence ends.

The llama_cpp module comes through the engine (``engine._llama_cpp``): only ``engines.llamacpp``
imports it.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import EngineError
from .base import Batch, ChatRequest, Completion, GenerationResult
from .llamacpp_text import SampleStats, SequenceText

#: a sequence waits for a running prefill only when that saves it at least this many prompt tokens
MIN_WAIT_GAIN = 32


class KVBook:
    """The cells of llama.cpp's unified KV cache that each sequence holds. A copied prefix adds the
    sequence to the same cells, so it costs none; a cell is free once no sequence holds it."""

    def __init__(self) -> None:
        self.cells: dict[int, list[int]] = {}
        self.refs: dict[int, int] = {}
        self._next = 0

    def used(self) -> int:
        return len(self.refs)

    def extend(self, seq: int, n: int) -> None:
        new = range(self._next, self._next + n)
        self._next += n
        self.cells.setdefault(seq, []).extend(new)
        self.refs.update(dict.fromkeys(new, 1))

    def copy(self, src: int, dst: int, n: int) -> None:
        shared = self.cells[src][:n]
        self.cells[dst] = list(shared)
        for c in shared:
            self.refs[c] += 1

    def drop(self, seq: int) -> None:
        for c in self.cells.pop(seq, []):
            left = self.refs[c] - 1
            if left:
                self.refs[c] = left
            else:
                del self.refs[c]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass(eq=False)
class _Request:
    index: int
    request: ChatRequest
    report: Callable[[int], None] | None
    prompt: list[int] = field(default_factory=list)
    max_new: int = 0
    completions: dict[int, Completion] = field(default_factory=dict)
    tokens: int = 0  # new tokens so far, all samples
    elapsed_s: float = 0.0  # its share of the steps it took part in


@dataclass(eq=False)
class _Seq:
    req: _Request
    sample: int
    seed: int | None
    sid: int = -1
    sampler: Any = None
    out: SequenceText | None = None
    kv: list[int] = field(default_factory=list)  # tokens in its KV cells, positions 0..len-1
    pending: list[int] = field(default_factory=list)  # to evaluate next: prompt rest or last token
    prompt_eval: int = 0
    t0: float = 0.0
    t_first: float | None = None

    def future_cells(self) -> int:
        """Cells it may still take: the rest of its prompt and every new token but the last."""
        return len(self.req.prompt) + self.req.max_new - 1 - len(self.kv)


class BatchDecoder:
    """One ``generate`` call of a ``LlamaCppEngine`` whose ``max_sequences`` > 1."""

    def __init__(self, engine: Any):  # a LlamaCppEngine (not imported: it imports this module)
        self.eng = engine
        self.llm = engine.llm
        self.lc = engine._llama_cpp
        self.ctx = engine.llm._ctx
        self.mem = self.ctx.memory
        self.n_ctx = engine.context_length or self.llm.n_ctx()
        self.n_batch = self.llm.n_batch
        self.book = KVBook()
        self.parked: OrderedDict[int, list[int]] = OrderedDict()  # ended sequences kept as prefixes
        self.free_ids = list(range(engine.max_sequences + 1))  # the context's n_seq_max
        self.active: list[_Seq] = []
        self.waiting: deque[_Seq] = deque()
        self.batch: Batch | None = None
        self.order: dict[int, tuple[int, int]] = {}  # id(stats) -> (request, sample)
        self._adopt_llama_cache()

    # -- the KV cache shared with Llama.generate (seq 0)
    def _adopt_llama_cache(self) -> None:
        """What ``Llama.generate`` left in seq 0 becomes a prefix source like any ended sequence."""
        n = int(self.llm.n_tokens)
        if n == 0:
            self.lc.llama_memory_clear(self.mem, True)
            return
        self.lc.llama_memory_seq_keep(self.mem, 0)
        self.lc.llama_memory_seq_rm(self.mem, 0, n, -1)
        self.free_ids.remove(0)
        self.book.extend(0, n)
        self.parked[0] = [int(t) for t in self.llm.input_ids[:n]]

    def _hand_back(self) -> None:
        """Keep the last ended sequence in seq 0, where ``Llama.generate`` (and the next call) finds
        its tokens; drop every other."""
        for s in self.active:
            self._close_sampler(s)
            self.lc.llama_memory_seq_rm(self.mem, s.sid, -1, -1)
        self.active.clear()
        keep = next(reversed(self.parked), None)
        for sid in list(self.parked):
            if sid != keep:
                self._evict(sid)
        llm = self.llm
        if keep is None:
            self.lc.llama_memory_clear(self.mem, True)
            llm.n_tokens = 0
            return
        tokens = self.parked[keep]
        if keep != 0:
            self.lc.llama_memory_seq_rm(self.mem, 0, -1, -1)
            self.lc.llama_memory_seq_cp(self.mem, keep, 0, -1, -1)
            self.lc.llama_memory_seq_rm(self.mem, keep, -1, -1)
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        llm._requires_eval = True  # its logits are gone: re-evaluate at least one token

    def _evict(self, sid: int) -> None:
        self.lc.llama_memory_seq_rm(self.mem, sid, -1, -1)
        self.book.drop(sid)
        self.parked.pop(sid, None)
        self.free_ids.append(sid)

    # -- the run
    def run(self, batch: Batch) -> None:
        """Decode ``batch``'s requests; each result goes to ``batch.done`` as its last sequence ends."""
        eng = self.eng
        self.batch = batch
        for i, req in enumerate(batch.requests):
            r = _Request(i, req, batch.reporter(i))
            try:
                r.prompt = eng.prompt_tokens(req.messages)
                r.max_new = min(req.sampling.max_tokens, eng.check_prompt(r.prompt))
                eng._check_grammar(req.sampling.grammar)
            except Exception as exc:  # one bad request must not sink the batch
                self._settle(r, GenerationResult(error=f"{type(exc).__name__}: {exc}"))
                continue
            seed = req.sampling.seed
            for k in range(req.sampling.n):  # distinct but reproducible samples, as one at a time
                self.waiting.append(_Seq(r, k, None if seed is None else seed + k))
        failed: Exception | None = None
        tokens = self.lc.llama_batch_init(self.n_batch, 0, 1)  # llama.cpp's batch of one step
        try:
            while self.waiting or self.active:
                self._admit()
                self._step(tokens)
        except Exception as exc:  # llama_decode failed: every sequence in the cache is suspect
            failed = exc
            self.lc.llama_memory_clear(self.mem, True)
            self.parked.clear()
        finally:
            self.lc.llama_batch_free(tokens)
            self._hand_back()
        if failed is not None:  # the requests not finished fail; the finished ones are stored
            for i in batch.pending():
                batch.fail(i, failed)
        eng.stats.sort(key=lambda st: self.order.get(id(st), (0, 0)))

    def _settle(self, r: _Request, res: GenerationResult) -> None:
        res.elapsed_s = res.elapsed_s or r.elapsed_s
        self.batch.done(r.index, res)

    # -- admission
    def _source(self, prompt: list[int]) -> tuple[int | None, list[int], int]:
        """The sequence in the cache holding the longest prefix of ``prompt`` (at most all but its
        last token: a sequence evaluates at least one token to get logits of its own)."""
        best: tuple[int | None, list[int], int] = (None, [], 0)
        cap = len(prompt) - 1
        holders = [(s.sid, s.kv) for s in self.active] + list(self.parked.items())
        for sid, kv in holders:
            n = min(common_prefix(kv, prompt), cap)
            if n > best[2]:
                best = (sid, kv, n)
        return best

    def _worth_waiting(self, prompt: list[int], shared: int) -> bool:
        """Whether a running prefill will hold more of ``prompt`` than the cache does now: all of
        it (the n samples of a request) or at least MIN_WAIT_GAIN more tokens."""
        cap = len(prompt) - 1
        for s in self.active:
            if s.t_first is None:
                gain = min(common_prefix(s.req.prompt, prompt), cap) - shared
                if gain >= MIN_WAIT_GAIN or (gain > 0 and shared + gain == cap):
                    return True
        return False

    def _fits(self, cells: int) -> bool:
        future = sum(s.future_cells() for s in self.active)
        return self.book.used() + future + cells <= self.n_ctx

    def _admit(self) -> None:
        later: list[_Seq] = []
        while self.waiting and len(self.active) < self.eng.max_sequences:
            seq = self.waiting.popleft()
            prompt = seq.req.prompt
            src, src_kv, shared = self._source(prompt)
            if self._worth_waiting(prompt, shared):
                later.append(seq)  # copy it once that prefill is in the cache
                continue
            cells = len(prompt) + seq.req.max_new - 1 - shared
            while (not self._fits(cells) or not self.free_ids) and self.parked:
                victim = next((p for p in self.parked if p != src), src)
                self._evict(victim)  # the least recently ended first
                if victim == src:
                    src, src_kv, shared = self._source(prompt)
                    cells = len(prompt) + seq.req.max_new - 1 - shared
            if not self._fits(cells) or not self.free_ids:
                later.append(seq)  # room comes as running sequences end
                break
            self._start(seq, src, src_kv, shared)
        self.waiting.extendleft(reversed(later))

    def _start(self, seq: _Seq, src: int | None, src_kv: list[int], shared: int) -> None:
        eng = self.eng
        sp = seq.req.request.sampling
        seq.sid = self.free_ids.pop(0)
        if src is not None and shared:
            self.lc.llama_memory_seq_cp(self.mem, src, seq.sid, 0, shared)
            self.book.copy(src, seq.sid, shared)
            seq.kv = list(src_kv[:shared])
            if src in self.parked:
                self.parked.move_to_end(src)
        seq.pending = seq.req.prompt[shared:]
        seq.prompt_eval = len(seq.pending)
        seq.sampler = eng.make_sampler(sp, seq.seed)
        seq.out = SequenceText(sp, seq.req.max_new, eng.eog_ids, eng._piece)
        seq.t0 = time.perf_counter()
        self.active.append(seq)

    # -- one llama_decode step
    def _step(self, b: Any) -> None:
        if not self.active:
            return
        rows: list[tuple[_Seq, int, int | None]] = []  # sequence, tokens taken, its logits row
        n = prompt_tokens = 0
        # sequences that decode take one token each first; prompts fill the rest of the batch
        for s in sorted(self.active, key=lambda s: s.t_first is None):
            take = s.pending[: self.n_batch - n]
            if not take:
                continue
            pos0 = len(s.kv)
            for j, tok in enumerate(take):
                b.token[n + j] = tok
                b.pos[n + j] = pos0 + j
                b.n_seq_id[n + j] = 1
                b.seq_id[n + j][0] = s.sid
                b.logits[n + j] = False
            last = len(take) == len(s.pending)
            if last:
                b.logits[n + len(take) - 1] = True
            rows.append((s, len(take), n + len(take) - 1 if last else None))
            if s.t_first is None:
                prompt_tokens += len(take)
            n += len(take)
        b.n_tokens = n
        t0 = time.perf_counter()
        rc = self.lc.llama_decode(self.ctx.ctx, b)
        if rc != 0:
            raise EngineError(
                f"llama_decode failed ({rc}) with {len(rows)} sequences in a step: pass "
                "--engine-opt max_sequences=1 or a larger n_ctx"
            )
        dt = time.perf_counter() - t0
        ended: list[_Seq] = []
        for s, k, row in rows:
            s.req.elapsed_s += dt * k / n
            s.kv.extend(s.pending[:k])
            self.book.extend(s.sid, k)
            s.pending = s.pending[k:]
            if row is not None:
                ts = time.perf_counter()
                if self._sample(s, row):
                    ended.append(s)
                s.req.elapsed_s += time.perf_counter() - ts
        # the step's time with its sampling: one at a time, a token's time holds its sampling too
        self.eng.steps.append((n, prompt_tokens, time.perf_counter() - t0))
        for s in ended:
            self._end(s)

    def _sample(self, s: _Seq, row: int) -> bool:
        token = s.sampler.sample(self.ctx, row)
        if s.t_first is None:
            s.t_first = time.perf_counter()
        r = s.req
        r.tokens += 1
        if r.report is not None:
            r.report(r.tokens)
        assert s.out is not None
        if s.out.feed(token):
            return True
        s.pending = [token]
        return False

    def _close_sampler(self, s: _Seq) -> None:
        if s.sampler is not None:
            s.sampler.close()
            s.sampler = None

    def _end(self, s: _Seq) -> None:
        assert s.out is not None
        completion = s.out.completion()
        end = time.perf_counter()
        t_first = s.t_first or end
        r = s.req
        st = SampleStats(len(r.prompt), s.prompt_eval, t_first - s.t0, end - t_first, s.out.count)
        self.eng.stats.append(st)
        self.order[id(st)] = (r.index, s.sample)
        self._close_sampler(s)
        self.active.remove(s)
        self.parked[s.sid] = s.kv  # its cells stay: a later prompt may start with them
        r.completions[s.sample] = completion
        n = r.request.sampling.n
        if len(r.completions) == n:
            comps = [r.completions[k] for k in range(n)]
            self._settle(r, GenerationResult(completions=comps, prompt_tokens=len(r.prompt)))
