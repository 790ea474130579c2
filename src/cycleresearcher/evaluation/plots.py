"""Plots of the evaluation results (matplotlib, Agg canvas: no display, no global pyplot state)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..atomic import write_bytes


def rating_distribution(
    ratings: Mapping[str, Sequence[float]],
    path: str | Path,
    failed: Mapping[str, int] | None = None,
    title: str = "",
) -> Path:
    """One histogram per group of the paper-level ratings (1-10, half-point bins), its mean marked.

    ``failed`` (group -> papers without a parsed rating) is shown in each panel's title so that a
    group that looks good only because its bad papers failed to parse is visible.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = list(ratings)
    fig = Figure(figsize=(7, 2.2 * max(1, len(groups))), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(1, len(groups)), 1, sharex=True, squeeze=False)[:, 0]
    bins = [0.75 + 0.5 * i for i in range(20)]  # centred on 1, 1.5, ..., 10.5
    for ax, group in zip(axes, groups, strict=False):
        values = list(ratings[group])
        ax.hist(values, bins=bins, color="#4C72B0", edgecolor="white")
        if values:
            mean = sum(values) / len(values)
            ax.axvline(mean, color="#C44E52", linestyle="--", label=f"mean {mean:.2f}")
            ax.legend(loc="upper left", frameon=False)
        n_failed = (failed or {}).get(group, 0)
        ax.set_title(
            f"{group}: {len(values)} papers" + (f", {n_failed} failed parses" if n_failed else ""),
            fontsize=10,
        )
        ax.set_ylabel("papers")
    axes[-1].set_xlabel("paper-level rating")
    axes[-1].set_xlim(0.5, 10.5)
    axes[-1].set_xticks(range(1, 11))
    if title:
        fig.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()  # rendered whole first: a failed save leaves the earlier plot in place
    fig.savefig(buf, format="png", dpi=110)
    return write_bytes(path, buf.getvalue())
