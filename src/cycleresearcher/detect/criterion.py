"""The Fast-DetectGPT criterion (analytic sampling discrepancy, FORMATS.md §4) from logits, and the
detector's one torch module: the forward passes of the scorers (``scorers`` holds no tensor code).

Per scored position t: ``ll_t = lp_t[x_t]``, ``mu_t = Σ_v q_t(v)·lp_t(v)``,
``var_t = Σ_v q_t(v)·lp_t(v)² − mu_t²`` with ``lp`` the scoring model's log-probs and ``q`` the
reference model's probabilities; ``criterion = (Σ ll − Σ mu) / sqrt(Σ var)``. The statistics are
summed over positions (in float64), so windows of one document can be accumulated one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: positions processed at once when reducing over the vocabulary: small enough that a chunk's
#: [rows, vocab] float32 temporaries stay in cache (64 x 49,152 x 4 B = 12.6 MB each).
ROW_CHUNK = 64


@dataclass
class Stats:
    """Running sums of the per-token statistics."""

    ll: float = 0.0
    mu: float = 0.0
    var: float = 0.0
    n: int = 0

    def add(self, other: Stats) -> Stats:
        return Stats(self.ll + other.ll, self.mu + other.mu, self.var + other.var, self.n + other.n)

    @property
    def criterion(self) -> float:
        if self.n == 0 or self.var <= 0:
            return math.nan
        return (self.ll - self.mu) / math.sqrt(self.var)


class _Buffers:
    """Three float32 [ROW_CHUNK, vocab] work tensors reused for every chunk of one call: a fresh
    12 MB tensor per step is mapped and unmapped by the allocator each time, paying page faults."""

    def __init__(self, rows: int, vocab: int, device: Any):
        import torch

        self.z, self.q, self.t = (
            torch.empty(rows, vocab, dtype=torch.float32, device=device) for _ in range(3)
        )


def _sums(z: Any, q: Any, t: Any, labels: Any, ref_in_q: bool) -> tuple[float, float, float]:
    """(Σ ll, Σ mu, Σ var) over one chunk, written into the three buffers. ``z`` holds the scoring
    logits, ``q`` the reference logits when ``ref_in_q`` (same model: q = exp(lp), no second
    softmax). torch's own log_softmax / softmax kernels, as the naive formula uses: a hand-rolled
    log-sum-exp is closer to float64 but moves the criterion by ~3e-4 from them on 1-2k tokens
    (torch's fp32 log_softmax is biased by ~5e-6 per token), which matters more here than the
    extra digits. float32 per element, float64 sums."""
    import torch

    lp = torch.log_softmax(z, dim=-1, out=t)
    if ref_in_q:
        probs = torch.softmax(q, dim=-1, out=z)
        scratch = q
    else:
        probs = torch.exp(lp, out=q)
        scratch = z
    qlp = torch.mul(probs, lp, out=scratch)
    m = qlp.sum(-1)
    v = qlp.mul_(lp).sum(-1) - m * m
    ll = lp.gather(-1, labels.to(lp.device).long().unsqueeze(-1)).squeeze(-1)
    return ll.double().sum().item(), m.double().sum().item(), v.double().sum().item()


def _accumulate(n_rows: int, vocab: int, device: Any, labels: Any, fill: Any, ref: bool) -> Stats:
    """Sum the statistics chunk by chunk; ``fill(rows, z, q)`` writes the chunk's scoring logits
    into z (and the reference logits into q when ``ref``)."""
    import torch

    ll = mu = var = 0.0
    with torch.no_grad():
        buf = _Buffers(min(ROW_CHUNK, n_rows), vocab, device)
        for a in range(0, n_rows, ROW_CHUNK):
            rows = slice(a, min(a + ROW_CHUNK, n_rows))
            n = rows.stop - a
            z, q, t = buf.z[:n], buf.q[:n], buf.t[:n]
            fill(rows, z, q)
            s_ll, s_mu, s_var = _sums(z, q, t, labels[rows], ref)
            ll, mu, var = ll + s_ll, mu + s_mu, var + s_var
    return Stats(ll, mu, var, int(labels.shape[0]))


def token_stats(score_logits: Any, labels: Any, ref_logits: Any | None = None) -> Stats:
    """Sums of ll, mu, var for ``labels[i]`` predicted by ``score_logits[i]`` (shape [T, V]).

    ``ref_logits=None`` means the reference model is the scoring model, so ``q = exp(lp)`` and no
    second softmax is needed. Computed in float32 per chunk of rows whatever the model dtype.
    """

    def fill(rows: slice, z: Any, q: Any) -> None:
        z.copy_(score_logits[rows])
        if ref_logits is not None:
            q.copy_(ref_logits[rows])

    n, vocab = score_logits.shape
    return _accumulate(n, vocab, score_logits.device, labels, fill, ref_logits is not None)


def _head_into(head: Any, hidden: Any, out: Any) -> None:
    """out = head(hidden), written in place when the head is a float32 linear layer."""
    import torch

    w = getattr(head, "weight", None)
    if isinstance(head, torch.nn.Linear) and w.dtype == hidden.dtype == out.dtype:
        torch.mm(hidden, w.t(), out=out)
        if head.bias is not None:
            out.add_(head.bias)
    else:
        out.copy_(head(hidden))


def hidden_stats(
    score_hidden: Any,
    score_head: Any,
    labels: Any,
    ref_hidden: Any | None = None,
    ref_head: Any | None = None,
) -> Stats:
    """As :func:`token_stats`, from the last hidden states and the output heads: each chunk's
    logits are computed just before its statistics, so the full [T, vocab] logits never exist
    (peak memory of one chunk instead of T rows, and the chunk is still in cache when reduced)."""

    def fill(rows: slice, z: Any, q: Any) -> None:
        _head_into(score_head, score_hidden[rows], z)
        if ref_hidden is not None:
            _head_into(ref_head, ref_hidden[rows], q)

    vocab = (
        score_head.weight.shape[0]
        if hasattr(score_head, "weight")
        else score_head(score_hidden[:1]).shape[-1]
    )
    return _accumulate(
        score_hidden.shape[0], vocab, score_hidden.device, labels, fill, ref_hidden is not None
    )


def split_head(model: Any, probe: list[int]) -> tuple[Any, Any] | None:
    """(backbone, output head) when ``model(x).logits == head(backbone(x).last_hidden_state)`` on a
    probe, else None (models that scale or soft-cap their logits, or hide the head, keep the plain
    forward pass)."""
    import torch

    try:
        backbone, head = model.get_decoder(), model.get_output_embeddings()
    except (AttributeError, NotImplementedError, ValueError):
        return None
    if backbone is None or backbone is model or head is None:
        return None
    x = torch.tensor([probe], device=next(model.parameters()).device)
    with torch.no_grad():
        try:
            split = head(backbone(input_ids=x).last_hidden_state).float()
        except (TypeError, AttributeError):
            return None
        full = model(input_ids=x).logits.float()
    if split.shape != full.shape or not torch.allclose(split, full, rtol=1e-3, atol=1e-3):
        return None
    return backbone, head


def model_stats(
    seq: list[int],
    rows: slice,
    cols: slice,
    device: Any,
    model: Any,
    split: tuple[Any, Any] | None,
    ref_model: Any | None = None,
    ref_split: tuple[Any, Any] | None = None,
) -> Stats:
    """Statistics of the tokens ``seq[cols]`` predicted by the logit rows ``rows`` of one forward
    pass over ``seq``: through the split head when there is one (see :func:`hidden_stats`), else
    from the full logits."""
    import torch

    x = torch.tensor([seq], device=device)
    if split is not None:
        with torch.no_grad():
            body, head = split
            hidden = body(input_ids=x).last_hidden_state[0, rows]
            if ref_split is None:
                return hidden_stats(hidden, head, x[0, cols])
            ref_body, ref_head = ref_split
            ref_hidden = ref_body(input_ids=x).last_hidden_state[0, rows]
            return hidden_stats(hidden, head, x[0, cols], ref_hidden, ref_head)
    with torch.no_grad():
        logits = model(input_ids=x).logits[0, rows]
        ref = ref_model(input_ids=x).logits[0, rows] if ref_model is not None else None
    return token_stats(logits, x[0, cols], ref)


def array_stats(logits: Any, seq: list[int], cols: slice) -> Stats:
    """:func:`token_stats` of numpy logits (llama.cpp's) for the tokens ``seq[cols]``."""
    import numpy as np
    import torch

    return token_stats(torch.from_numpy(np.ascontiguousarray(logits)), torch.tensor(seq)[cols])
