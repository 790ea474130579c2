"""A direct, deliberately naive implementation of the published Fast-DetectGPT formula.

Two separate forward passes (scoring model, then reference model) in float32, full-vocabulary
softmax / log-softmax, no reuse, no windows. The oracle the fast path is checked against
(tests/test_detect_model.py) and the baseline of benchmarks/detect_speed.py; test code, not part
of the library.
"""

from __future__ import annotations

from typing import Any


def naive_criterion(scoring_model: Any, reference_model: Any, ids: list[int]) -> float:
    import torch

    x = torch.tensor([ids], device=next(scoring_model.parameters()).device)
    with torch.no_grad():
        score_logits = scoring_model(input_ids=x).logits[0, :-1].float()
        ref_logits = reference_model(input_ids=x).logits[0, :-1].float()
    labels = x[0, 1:]
    lprobs = torch.log_softmax(score_logits, dim=-1)
    probs_ref = torch.softmax(ref_logits, dim=-1)
    log_likelihood = lprobs.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    mean_ref = (probs_ref * lprobs).sum(-1)
    var_ref = (probs_ref * lprobs.square()).sum(-1) - mean_ref.square()
    return float((log_likelihood.sum() - mean_ref.sum()) / var_ref.sum().sqrt())
