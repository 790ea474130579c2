r"""Parse DeepReviewer output (FORMATS.md §3) into a :class:`Review`.

Blocks: ``\boxed_questions{`` and ``\boxed_analysis{`` (Best mode, turn 1), ``\boxed_simreviewers{``
(``## Reviewer N`` + ``### Summary`` ... ``### Confidence``, separated by ``**********``),
``\boxed_verification{`` and ``\boxed_review{`` (``## Summary:`` ... ``## Decision:``).

A block's text holds braces of its own (LaTeX, JSON) and may end with a code fence glued to the
closing brace (either side of it), so a block does not end at the first ``\n}``: it ends at the
last brace that closes a line (a fence after it counts as the line's end) and balances the block's
braces before the next ``\boxed_`` marker (see ``_block_end``). A block with no such brace was cut
off.
"""

from __future__ import annotations

import re
from typing import Optional

from ..records import SCORE_KEYS, Review
from .common import BOXED_MARKER, assemble, header_field, opinion_from_fields, parse_decision, parse_score

BLOCKS = ("questions", "analysis", "simreviewers", "verification", "review")
_MARKER = BOXED_MARKER
#: a brace that ends its line, also with a code fence glued after it (``}```, FORMATS.md §3)
_LINE_CLOSE = re.compile(r"\}[ \t]*(?:`{3,}[ \t]*)?(?=\n|\Z)")
_BRACE = re.compile(r"\\[{}]|[{}]")
_LINE = re.compile(r"^.*$", re.MULTILINE)
_MODE = re.compile(r"\b(fast|standard|best)\s+mode\b", re.IGNORECASE)
_NUMBERING = re.compile(r"^(?:\d+[.):]|[-*\u2022]|q\d+[.:)]|question\s*\d+[.:)])\s+", re.IGNORECASE)


def _depths(segment: str) -> dict[int, int]:
    """Brace depth after each brace of ``segment`` (1 = still inside the block); ``\\{`` / ``\\}`` don't count."""
    # Not latex.group_end: that stops at the first brace back at depth 0, while _block_end wants
    # the last one (braces may close and reopen before it), and it counts the brace in a raw
    # backslash-backslash-brace, which this scanner takes as an escaped brace.
    depth, out = 1, {}
    for m in _BRACE.finditer(segment):
        if len(m.group()) == 1:
            depth += 1 if m.group() == "{" else -1
            out[m.start()] = depth
    return out


def _block_end(segment: str, last: bool) -> Optional[int]:
    """Where the block in ``segment`` closes, or None when it was cut off.

    Candidates are braces that end a line. Between two blocks the next marker proves the block
    ended, so the close is the last candidate. After the last block only prose may follow: a
    candidate followed by a review header closed a line inside the block, and the close must
    balance the block's own braces (every real output closes that way), so a block cut off
    right after ``\\end{equation}`` is not taken as closed.
    """
    closes = list(_LINE_CLOSE.finditer(segment))
    if not last:
        return closes[-1].start() if closes else None
    headers = [m.start() for m in _LINE.finditer(segment) if header_field(m.group())]
    closes = [c for c in closes if not headers or c.end() > headers[-1]]
    depths = _depths(segment) if closes else {}
    balanced = [c for c in closes if depths.get(c.start()) == 0]
    return balanced[-1].start() if balanced else None


def find_blocks(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """``[(name, content), ...]`` in order of appearance, plus the names of unclosed blocks."""
    markers = list(_MARKER.finditer(text))
    blocks: list[tuple[str, str]] = []
    unclosed: list[str] = []
    for i, m in enumerate(markers):
        last = i + 1 == len(markers)
        segment = text[m.end() : len(text) if last else markers[i + 1].start()]
        end = _block_end(segment, last)
        if end is None:
            unclosed.append(m.group(1))
        blocks.append((m.group(1), segment[:end].strip()))
    return blocks, unclosed


def parse_questions(content: str) -> list[str]:
    """One question per non-empty line; list numbering (``1.``, ``-``, ``Q1:``) is dropped."""
    questions = []
    for line in content.splitlines():
        line = line.strip()
        while (stripped := _NUMBERING.sub("", line, count=1)) != line:  # "1. - Q:" all go
            line = stripped
        if line:
            questions.append(line)
    return questions


def detect_mode(text: str, names: list[str]) -> Optional[str]:
    """The mode the model announces before its first block, else what its blocks imply."""
    first = _MARKER.search(text)
    preamble = text[: first.start()] if first else text[:2000]
    m = _MODE.search(preamble)
    if m:
        return m.group(1).lower()
    if "questions" in names or "analysis" in names or re.search(r"\banswers\b", preamble, re.IGNORECASE):
        return "best"  # turn 1 asks questions; turn 2 opens by thanking for the answers
    if "simreviewers" in names:
        return "standard"
    if "review" in names:
        return "fast"
    return None


def parse_deepreviewer(text: str, mode: Optional[str] = None) -> Review:
    """Parse one DeepReviewer generation (any mode, either Best turn). Never raises."""
    text = text if isinstance(text, str) else ""
    review = Review(raw_text=text, format="deepreviewer")
    try:
        _fill(review, text, mode)
    except Exception as exc:  # pragma: no cover - safety net; the property tests assert it never fires
        review.warnings.append(f"internal parser error ({exc!r}); the review is partial")
    return review


def _fill(review: Review, text: str, mode: Optional[str]) -> None:
    if not text.strip():
        review.warnings.append("empty reviewer output")
        return
    blocks, unclosed = find_blocks(text)
    names = [name for name, _ in blocks]
    review.blocks = list(dict.fromkeys(names))  # a repeated block is reported once (and warned about)
    review.mode = mode.lower() if mode else detect_mode(text, names)
    if not blocks:
        review.warnings.append("no \\boxed_ block found (expected \\boxed_review{...})")
        return
    for name in unclosed:
        review.truncated = True
        review.warnings.append(f"\\boxed_{name} is not closed: the output is cut off; kept partially")
    for name in sorted({n for n in names if names.count(n) > 1}):
        review.warnings.append(f"\\boxed_{name} appears {names.count(name)} times; the first one is used")
    content = {}
    for name, body in blocks:
        content.setdefault(name, body)

    if "questions" in content:
        review.questions = parse_questions(content["questions"])
        if not review.questions:
            review.warnings.append("\\boxed_questions is empty")
    review.analysis = content.get("analysis")
    review.verification = content.get("verification")

    if "simreviewers" in content:
        parts = assemble(content["simreviewers"])
        for i, fields in enumerate(parts.reviewers, 1):
            op = opinion_from_fields(fields, f"simulated reviewer {i}")
            for key in SCORE_KEYS:
                if key not in fields:
                    op.warnings.append(f"simulated reviewer {i}: no {key.capitalize()} section")
            review.reviewers.append(op)
            review.warnings += op.warnings
        if not review.reviewers:
            review.warnings.append("\\boxed_simreviewers holds no '## Reviewer' with '### ' sections")

    if "review" in content:
        _final_review(review, content["review"])
    elif "questions" not in content:  # Best turn 1 legitimately has no final review yet
        review.warnings.append("no \\boxed_review block: no final scores or decision")
    _check_invariant(review)


def _final_review(review: Review, body: str) -> None:
    parts = assemble(body)
    fields: dict[str, str] = parts.reviewers[0] if parts.reviewers else {}
    if len(parts.reviewers) > 1:  # a repeated header: the final review is one review, keep the first
        review.warnings.append("final review: sections repeat; only the first occurrence of each is used")
    for key in SCORE_KEYS:
        if key not in fields:
            review.warnings.append(f"final review: no {key.capitalize()} section")
            continue
        value, raw, warnings = parse_score(fields[key], key, "final review")
        review.final[key] = value
        review.warnings += warnings
    review.final_text = {k: v for k, v in fields.items() if k not in SCORE_KEYS}
    decision = parts.meta.get("decision")
    if decision is None:
        review.warnings.append("final review: no '## Decision:' section; decision left missing")
    else:
        review.decision = parse_decision(decision)
        if review.decision is None:
            review.warnings.append(f"final review: decision '{decision[:60]}' is neither Accept nor Reject")


def _check_invariant(review: Review) -> None:
    """Each final score equals the mean of the simulated reviewers' scores, rounded to 2 decimals."""
    if not review.reviewers:
        return
    for key in SCORE_KEYS:
        final = review.final.get(key)
        values = [getattr(r, key) for r in review.reviewers]
        if final is None or any(v is None for v in values):
            continue
        mean = sum(values) / len(values)
        if abs(mean - final) > 0.005 + 1e-9:
            review.warnings.append(
                f"final {key} {final:g} differs from the mean of the {len(values)} simulated reviewers ({mean:.2f})"
            )


__all__ = ["BLOCKS", "detect_mode", "find_blocks", "parse_deepreviewer", "parse_questions"]
