"""The pairing rule (pure): per reference set, the best-rewarded paper against the worst.

- papers that failed (unparsable, unrated, or a failed generation) rank below every scored paper and
  carry ``failed_reward``; they can be rejected, never chosen;
- a set whose best and worst rewards are equal is skipped ("tie"), as is one whose gap is below
  ``min_gap`` ("gap"), one with fewer than two papers ("too_few") and one where every paper
  failed ("all_failed");
- ties inside a set are broken by sample index (the earliest sample wins), so the rule is
  deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigError, InputError

#: why a paper did not get a real reward
FAILED_STATUSES = ("unparsable", "unrated", "generation_failed")


@dataclass
class ScoredSample:
    """One sampled paper of one reference set and its reward."""

    set_id: str
    index: int  # 0..k-1 within the set
    text: str
    reward: float | None  # None for failed papers (they get ``failed_reward`` when paired)
    status: str = "ok"  # ok | unparsable | unrated | generation_failed
    decision: str | None = None  # Accept / Reject when the reward is a reviewer

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.reward is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Pair:
    set_id: str
    chosen: ScoredSample
    rejected: ScoredSample
    chosen_reward: float
    rejected_reward: float

    @property
    def gap(self) -> float:
        return self.chosen_reward - self.rejected_reward

    def to_dict(self) -> dict[str, Any]:
        return {
            "set_id": self.set_id,
            "chosen_index": self.chosen.index,
            "rejected_index": self.rejected.index,
            "chosen_reward": self.chosen_reward,
            "rejected_reward": self.rejected_reward,
            "rejected_status": self.rejected.status,
            "gap": self.gap,
        }


@dataclass
class Pairing:
    pairs: list[Pair] = field(default_factory=list)
    #: set_id -> reason (tie, gap, too_few, all_failed)
    skipped: dict[str, str] = field(default_factory=dict)

    def skipped_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason in self.skipped.values():
            counts[reason] = counts.get(reason, 0) + 1
        return counts


def effective_reward(sample: ScoredSample, failed_reward: float) -> float:
    return float(sample.reward) if sample.ok else float(failed_reward)


def build_pairs(
    groups: Mapping[str, Sequence[ScoredSample]],
    *,
    k: int,
    min_gap: float = 0.0,
    failed_reward: float = 0.0,
) -> Pairing:
    """Pair the best against the worst paper of every set (see the module doc for the rule)."""
    if k < 2:
        raise ConfigError(
            f"k = {k}: a preference pair needs at least two papers per reference set; sample k >= 2."
        )
    if min_gap < 0:
        raise ConfigError(f"min_gap = {min_gap}: use 0 or a positive reward gap.")
    out = Pairing()
    for set_id in sorted(groups):
        samples = sorted(groups[set_id], key=lambda s: s.index)
        scored = [s for s in samples if s.ok]
        low = [s.reward for s in scored if s.reward < failed_reward]
        if low:
            raise InputError(
                f"Reference set '{set_id}' has a reward {min(low)} below pairing.failed_reward = {failed_reward}: "
                "failed papers must rank last. Set pairing.failed_reward below your reward function's minimum."
            )
        if len(samples) < 2:
            out.skipped[set_id] = "too_few"
            continue
        if not scored:
            out.skipped[set_id] = "all_failed"
            continue
        # max/min keep the first of equal items: the earliest sample wins ties on both ends
        best = max(scored, key=lambda s: s.reward)
        failed = [s for s in samples if not s.ok]
        worst = failed[0] if failed else min(scored, key=lambda s: s.reward)
        hi, lo = effective_reward(best, failed_reward), effective_reward(worst, failed_reward)
        if hi == lo:
            out.skipped[set_id] = "tie"
            continue
        if hi - lo < min_gap:
            out.skipped[set_id] = "gap"
            continue
        out.pairs.append(
            Pair(set_id=set_id, chosen=best, rejected=worst, chosen_reward=hi, rejected_reward=lo)
        )
    return out
