"""The training cycle (``cycleresearcher train``): rounds of sample -> reward -> pair -> train.

CLI only: a training run is a cluster job (GPUs for hours, TRL and torch), not something the local
web page starts. The rounds themselves are ``train.rounds``; here: the config with the command's
overrides, the run folder rule (removed again if the first round cannot start) and the outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .report import Report
from .runfolder import new_run_dir

#: what a round's summary line holds (with ``reward_mean``)
SUMMARY_KEYS = ("round", "pairs", "reward_margin", "loss", "margin_before", "margin_after", "accepted_rate")


@dataclass(frozen=True)
class TrainRequest:
    config: str | Path
    #: the number of rounds, the run directory and the constrain flag, over the config's
    rounds: int | None = None
    out: str | None = None
    constrain: bool | None = None
    #: ``key=value`` config overrides (``--set``); the named fields above win over them
    overrides: Sequence[str] = ()


@dataclass
class TrainResult:
    reports: list[dict[str, Any]] = field(default_factory=list)
    output_dir: str = ""
    elapsed_s: float = 0.0

    def summaries(self) -> list[dict[str, Any]]:
        """One line per round: pairs, margins, loss, accepted rate and the mean reward."""
        return [{k: r.get(k) for k in SUMMARY_KEYS} | {"reward_mean": r["rewards"]["mean"]} for r in self.reports]

    @property
    def final_policy(self) -> str | None:
        return self.reports[-1]["checkpoint"] if self.reports else None

    @property
    def failed_samples(self) -> int:
        """Sampled papers that failed to generate (a rerun retries them)."""
        return sum(r.get("generation_failed", 0) for r in self.reports)

    @property
    def trained(self) -> bool:
        """Some round had a preference pair to train on (else the policy is unchanged)."""
        return any(r.get("pairs") for r in self.reports)


def config_overrides(
    overrides: Sequence[str] | None, rounds: int | None, output_dir: str | None, constrain: bool | None
) -> list[str]:
    """The command's options as config overrides, after the --set ones (the named options win)."""
    extra = list(overrides or [])
    if rounds is not None:
        extra.append(f"rounds={rounds}")
    if output_dir is not None:
        extra.append(f"output_dir={json.dumps(output_dir)}")
    if constrain is not None:
        extra.append(f"constrain={str(constrain).lower()}")
    return extra


def train_rounds(req: TrainRequest, report: Report) -> TrainResult:
    """Run (or resume: finished rounds are read back, not recomputed) every round of the cycle;
    each round's progress lines go to ``report.step``."""
    from ..progress import reporting
    from ..train.config import load_config
    from ..train.rounds import run_cycle

    cfg = load_config(req.config, config_overrides(req.overrides, req.rounds, req.out, req.constrain))
    start = time.perf_counter()
    # the run directory is removed again if the first round cannot start
    with new_run_dir(cfg.output_dir, "train"), reporting(report.tokens("sampling / reviewing")):
        reports = run_cycle(cfg, log=report.step)
    return TrainResult(reports, str(cfg.output_dir), time.perf_counter() - start)


__all__ = ["TrainRequest", "TrainResult", "config_overrides", "train_rounds"]
