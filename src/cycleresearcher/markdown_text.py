"""Small Markdown writers shared by the exports of papers, reviews and detections."""

from __future__ import annotations

import re


def fenced(text: str) -> list[str]:
    """``text`` as the lines of a fenced block whose fence no run of backticks inside can close
    (model output often holds ```latex fences of its own)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text.strip("\n"), fence]


_HEADING = re.compile(r"^#{1,6}\s")
_LIST_MARK = re.compile(r"^(?:[-*•+]|\(?\d+[.)])\s+")
_EMPHASIS = (
    re.compile(r"(\*\*|__)(.+?)\1"),  # **bold**, __bold__
    re.compile(r"(?<![\w*])\*(?!\s)([^*]+?)\*(?!\w)"),  # *italic*
    re.compile(r"(?<![\w_])_(?!\s)([^_]+?)_(?!\w)"),  # _italic_
    re.compile(r"`([^`]+)`"),  # `code`
)


def plain(text: str) -> str:
    """One line of Markdown with its emphasis marks removed (the words kept)."""
    for pattern in _EMPHASIS:
        text = pattern.sub(lambda m: m.group(m.lastindex or 1), text)
    return text


def first_point(text: str | None, width: int = 110) -> str:
    """The first item of a Markdown list or paragraph, as plain text of at most ``width``
    characters: headings (e.g. DeepReviewer's empty ``#### Some Related Works``) and bare labels
    such as ``**Weaknesses:**`` are skipped."""
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or _HEADING.match(line):
            continue
        line = plain(_LIST_MARK.sub("", line)).strip()
        if not line or (line.endswith(":") and len(line) < 40):
            continue
        return line if len(line) <= width else line[: width - 1] + "…"
    return ""


__all__ = ["fenced", "first_point", "plain"]
