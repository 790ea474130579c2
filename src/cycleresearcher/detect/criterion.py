"""The Fast-DetectGPT criterion (analytic sampling discrepancy, FORMATS.md §4) from logits.

Per scored position t: ``ll_t = lp_t[x_t]``, ``mu_t = Σ_v q_t(v)·lp_t(v)``,
``var_t = Σ_v q_t(v)·lp_t(v)² − mu_t²`` with ``lp`` the scoring model's log-probs and ``q`` the
reference model's probabilities; ``criterion = (Σ ll − Σ mu) / sqrt(Σ var)``. The statistics are
summed over positions (in float64), so windows of one document can be accumulated one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: positions processed at once when reducing over the vocabulary (bounds the [rows, vocab] temporaries)
ROW_CHUNK = 256


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


def token_stats(score_logits: Any, labels: Any, ref_logits: Any | None = None) -> Stats:
    """Sums of ll, mu, var for ``labels[i]`` predicted by ``score_logits[i]`` (shape [T, V]).

    ``ref_logits=None`` means the reference model is the scoring model, so ``q = exp(lp)`` and no
    second softmax is needed. Computed in float32 per chunk of rows whatever the model dtype.
    """
    import torch

    ll = mu = var = 0.0
    with torch.no_grad():
        for a in range(0, score_logits.shape[0], ROW_CHUNK):
            lp = torch.log_softmax(score_logits[a : a + ROW_CHUNK].float(), dim=-1)
            # same model: q = exp(lp), no second softmax
            q = (
                lp.exp()
                if ref_logits is None
                else torch.softmax(ref_logits[a : a + ROW_CHUNK].float(), dim=-1)
            )
            y = labels[a : a + ROW_CHUNK].to(lp.device).long()
            qlp = q * lp
            m = qlp.sum(-1)
            v = (qlp * lp).sum(-1) - m * m
            ll += lp.gather(-1, y.unsqueeze(-1)).squeeze(-1).double().sum().item()
            mu += m.double().sum().item()
            var += v.double().sum().item()
    return Stats(ll, mu, var, int(labels.shape[0]))
