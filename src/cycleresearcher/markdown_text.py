"""Small Markdown writers shared by the exports of papers, reviews and detections."""

from __future__ import annotations

import re


def fenced(text: str) -> list[str]:
    """``text`` as the lines of a fenced block whose fence no run of backticks inside can close
    (model output often holds ```latex fences of its own)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text.strip("\n"), fence]


__all__ = ["fenced"]
