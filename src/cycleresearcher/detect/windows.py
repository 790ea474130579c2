"""Full-length scoring by overlapping windows.

Rule: token 0 is never scored (nothing predicts it). The first window covers tokens
``[0, window)`` and scores tokens 1..window-1. Each next window starts ``overlap`` tokens before
the first unscored token and scores only the tokens no earlier window scored, so every token is
scored exactly once, with at least ``overlap`` tokens of left context (up to ``window - 1``).
A text that fits in one window is therefore scored exactly as by one forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    start: int  #: first token fed to the model
    end: int  #: one past the last token fed
    score_from: int  #: first token scored in this window (absolute index, > start)


def plan_windows(n_tokens: int, window: int, overlap: int | None = None) -> list[Window]:
    if window < 2:
        raise ValueError("window must be at least 2 tokens")
    overlap = window // 2 if overlap is None else overlap
    if not 1 <= overlap < window:
        raise ValueError(f"overlap must be in [1, window); got {overlap} for window {window}")
    plans: list[Window] = []
    first = 1
    while first < n_tokens:
        start = max(0, first - overlap) if plans else 0
        end = min(start + window, n_tokens)
        plans.append(Window(start, end, first))
        first = end
    return plans
