"""The cycle: reviewer-rewarded iterative preference training (SimPO + NLL, or DPO) with TRL.

``run_cycle(load_config("cycle.toml"))`` runs the rounds; see docs/training.md. Nothing heavy is
imported here: torch / transformers / trl load inside the steps that need them.
"""

from __future__ import annotations

from .config import CycleConfig, load_config
from .pairs import Pair, Pairing, ScoredSample, build_pairs

__all__ = ["CycleConfig", "Pair", "Pairing", "ScoredSample", "build_pairs", "load_config", "run_cycle"]


def run_cycle(*args, **kwargs):
    """See :func:`cycleresearcher.train.rounds.run_cycle`."""
    from .rounds import run_cycle as _run

    return _run(*args, **kwargs)
