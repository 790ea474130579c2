"""What every review says about the hidden text found in its paper (``paper.hidden``): a section
of the review's Markdown, lines of the terminal summary; the JSON carries the findings themselves
(``hidden_text``) and the web page shows them from there."""

from __future__ import annotations

from collections.abc import Sequence

from ..paper.hidden import HiddenText, summary


def headline(found: Sequence[HiddenText], kept: bool) -> str:
    """One line: how much was found and whether the reviewer read it."""
    fate = (
        "KEPT in the text the reviewer read (--keep-hidden-text)"
        if kept
        else "left out of the text the reviewer read"
    )
    return f"{summary(list(found))}; {fate}"


def markdown_section(found: Sequence[HiddenText], kept: bool) -> str:
    """``## Hidden text in the paper`` with one line per finding (kind, where, excerpt)."""
    if not found:
        return ""
    lines = ["## Hidden text in the paper", "", headline(found, kept) + ".", ""]
    for h in found:
        text = h.excerpt.replace("`", "'")
        lines.append(f"- **{h.kind}** ({h.where}): `{text}`")
    return "\n".join(lines) + "\n"


def with_markdown_section(md: str, found: Sequence[HiddenText], kept: bool) -> str:
    """The review's Markdown with the hidden-text section after its header block (the first
    blank line after the decision lines), where a reader sees it before the reviews."""
    section = markdown_section(found, kept)
    if not section:
        return md
    head, sep, rest = md.partition("\n## ")
    return head.rstrip("\n") + "\n\n" + section + ("\n## " + rest if sep else "")


__all__ = ["headline", "markdown_section", "with_markdown_section"]
