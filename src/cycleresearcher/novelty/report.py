"""The report as Markdown (novelty.md, the paper.md section) from its dict, so that a report read
back from paper.json renders the same. Imports nothing of the pipeline: paper.md calls it."""

from __future__ import annotations

from typing import Any


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def novelty_markdown(check: dict[str, Any], heading: str = "##") -> list[str]:
    """The section: verdict, what was searched, the related-work matrix, the judge's answer."""
    lines = [f"{heading} Novelty check (retrieval)", "", f"**{_cell(check.get('verdict', ''))}**", ""]
    searched = check.get("searched") or {}
    if searched:
        parts = ", ".join(f"{k}: {v}" for k, v in searched.items())
        lines += [f"Searched {check.get('works_searched', 0)} works ({parts}). Similarity: {check.get('measure', '')}; "
                  f"threshold {check.get('threshold', 0):.2f}.", ""]  # fmt: skip
    matches = check.get("matches") or []
    if matches:
        lines += ["| # | work | year | source | similarity | what overlaps |", "|---|---|---|---|---|---|"]
        for m in matches:
            work = m.get("work") or {}
            over = " / ".join(
                f"“{o.get('work_sentence', '')[:160]}” ({o.get('similarity', 0):.2f})"
                for o in m.get("overlaps") or []
            )
            lines.append(
                f"| {m.get('rank', '')} | {_cell(work.get('title', ''))} | {_cell(work.get('year', ''))} | "
                f"{_cell(work.get('source', ''))} | {m.get('similarity', 0):.2f} | {_cell(over)} |"
            )
        lines.append("")
    judge = check.get("judge")
    if judge:
        closest = f"; closest: {judge.get('closest')}" if judge.get("closest") else ""
        lines += [
            f"Model judge ({_cell(judge.get('model', ''))}), shown beside the evidence: **{judge.get('decision')}**"
            f"{_cell(closest)}. {_cell(judge.get('reason', ''))}",
            "",
        ]
    lines += [f"*Warning:* {_cell(w)}" for w in check.get("warnings") or []]
    return [*lines, ""] if check.get("warnings") else lines


def splice_markdown(markdown: str, section: list[str]) -> str:
    """``markdown`` (a paper.md) with its novelty section replaced by ``section``, or the section
    put before the LaTeX source (where paper.md renders it) when it has none yet."""
    lines = markdown.split("\n")
    heading = section[0]
    if heading in lines:
        start = lines.index(heading)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        return "\n".join(lines[:start] + section + lines[end:])
    anchor = next(
        (i for i, line in enumerate(lines) if line in ("## LaTeX source", "## Parser warnings")), None
    )
    if anchor is None:
        return "\n".join([*lines, *section])
    return "\n".join(lines[:anchor] + section + lines[anchor:])


__all__ = ["novelty_markdown", "splice_markdown"]
