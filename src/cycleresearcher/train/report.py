"""Round reports: ``round_<r>/report.json`` per round, ``summary.json`` and ``rewards.png`` (reward
per round) for the whole run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from statistics import fmean
from typing import Any


def mean_or_none(values: list[float]) -> float | None:
    return round(fmean(values), 6) if values else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic write: a report either exists whole or not at all (it marks a round as done)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def read_reports(output_dir: Path) -> list[dict[str, Any]]:
    reports = []
    for path in output_dir.glob("round_*/report.json"):
        reports.append(json.loads(path.read_text(encoding="utf-8")))
    return sorted(reports, key=lambda r: r["round"])


def plot_rewards(reports: list[dict[str, Any]], path: Path) -> Path | None:
    """Mean reward of the sampled papers per round (band = min..max), with chosen / rejected means."""
    rows = [r for r in reports if r["rewards"]["mean"] is not None]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["round"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(x, [r["rewards"]["mean"] for r in rows], marker="o", label="mean reward (all samples)")
    ax.fill_between(
        x,
        [r["rewards"]["min"] for r in rows],
        [r["rewards"]["max"] for r in rows],
        alpha=0.15,
        label="min..max",
    )
    chosen = [
        (r["round"], r["rewards"]["chosen_mean"]) for r in rows if r["rewards"]["chosen_mean"] is not None
    ]
    rejected = [
        (r["round"], r["rewards"]["rejected_mean"]) for r in rows if r["rewards"]["rejected_mean"] is not None
    ]
    if chosen:
        ax.plot(*zip(*chosen, strict=False), marker="^", linestyle="--", label="chosen")
    if rejected:
        ax.plot(*zip(*rejected, strict=False), marker="v", linestyle="--", label="rejected")
    ax.set_xlabel("round")
    ax.set_ylabel("reward")
    ax.set_xticks(x)
    ax.set_title("Reward per round")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_summary(output_dir: Path) -> dict[str, Any]:
    reports = read_reports(output_dir)
    summary = {
        "rounds": [
            {
                k: r.get(k)
                for k in (
                    "round",
                    "pairs",
                    "reward_margin",
                    "loss",
                    "margin_before",
                    "margin_after",
                    "accepted_rate",
                )
            }
            | {"reward_mean": r["rewards"]["mean"]}
            for r in reports
        ],
        "final_policy": reports[-1]["checkpoint"] if reports else None,
    }
    plot = plot_rewards(reports, output_dir / "rewards.png")
    summary["plot"] = str(plot) if plot else None
    write_json(output_dir / "summary.json", summary)
    return summary
