"""Line numbers of review manuscripts (lineno, the ACL / NeurIPS / ICML review modes) removed from
extracted PDF text.

Extractors put a margin number wherever its baseline falls: glued to the end of a line
(``Abstract001``, ``in the key projection.011``, ``NeurIPS 20245``: 2024 and line 5), after a
space (``Attention 040``), first on the line (``001 Abstract``) or on a line of its own. Taken one
by one, none of these can be told from a number of the text; taken together they climb by one or
two from line to line down the page. So the numbers removed are those that form such chains
(at least ``MIN_CHAIN`` long), and only in a document where chained numbers sit on at least
``MIN_SHARE`` of the lines: a numbered list or a table column alone never qualifies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: a chain shorter than this is not line numbering (numbered lists, table columns)
MIN_CHAIN = 5
#: numbering is there when chained numbers sit on at least this share of the non-blank lines
MIN_SHARE = 0.25
#: the next number of a chain lies this many lines further at most (captions, footnotes, display
#: math and the other column's lines come between) and is 1..MAX_STEP more
MAX_GAP_LINES = 14
MAX_STEP = 4

_TRAIL_RE = re.compile(r"(\d{1,6})\s*$")
_LEAD_RE = re.compile(r"^\s*(\d{1,4})(?=\s|$)")


@dataclass(frozen=True)
class _Candidate:
    line: int
    lead: bool  # at the start of the line (else at its end)
    width: int  # digits taken (a glued number: its last `width` digits)
    value: int


def _candidates(lines: list[str]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for i, line in enumerate(lines):
        lead = _LEAD_RE.match(line)
        if lead:
            out.append(_Candidate(i, True, len(lead.group(1)), int(lead.group(1))))
        trail = _TRAIL_RE.search(line)
        if trail and not (lead and lead.end() >= trail.end()):
            digits = trail.group(1)
            best: dict[int, int] = {}
            for w in range(1, min(4, len(digits)) + 1):
                # '039' and '39' are the same number: take all its digits ('recipe.1039' -> 'recipe.1')
                best[int(digits[-w:])] = w
            out.extend(_Candidate(i, False, w, v) for v, w in best.items())
    return out


def _chains(cands: list[_Candidate]) -> list[list[_Candidate]]:
    """The longest chains of numbers climbing down the page, greedily, one number per line."""
    n = len(cands)
    # (chain length, digits taken): of two chains as long, the one that reads wider numbers
    # ('Conclusions246' is line 246 after 245, not line 46 after 45)
    score = [(1, c.width) for c in cands]
    prev = [-1] * n
    for k in range(n):
        ck = cands[k]
        for j in range(k - 1, -1, -1):
            cj = cands[j]
            if ck.line - cj.line > MAX_GAP_LINES:
                break
            if cj.line < ck.line and 1 <= ck.value - cj.value <= MAX_STEP:
                cand = (score[j][0] + 1, score[j][1] + ck.width)
                if cand > score[k]:
                    score[k], prev[k] = cand, j
    length = [s[0] for s in score]
    chains: list[list[_Candidate]] = []
    used_lines: set[int] = set()
    for k in sorted(range(n), key=lambda i: score[i], reverse=True):
        if length[k] < MIN_CHAIN:
            break
        chain = []
        i = k
        while i != -1:
            chain.append(cands[i])
            i = prev[i]
        if any(c.line in used_lines for c in chain):
            continue
        used_lines.update(c.line for c in chain)
        chains.append(chain[::-1])
    return chains


def _remove(line: str, c: _Candidate) -> str:
    if c.lead:
        return _LEAD_RE.sub("", line, count=1).lstrip()
    body = line.rstrip()
    return body[: len(body) - c.width].rstrip()


def strip_line_numbers(pages: list[str]) -> tuple[list[str], int]:
    """The pages without their margin line numbers, and how many numbers were removed (0 and the
    pages unchanged when the document is not line-numbered)."""
    found: list[tuple[int, list[_Candidate]]] = []
    count = 0
    nonblank = 0
    for p, page in enumerate(pages):
        lines = page.split("\n")
        nonblank += sum(1 for ln in lines if ln.strip())
        for chain in _chains(_candidates(lines)):
            found.append((p, chain))
            count += len(chain)
    if not nonblank or count < MIN_SHARE * nonblank:
        return pages, 0
    split = [page.split("\n") for page in pages]
    for p, chain in found:
        for c in chain:
            split[p][c.line] = _remove(split[p][c.line], c)
    return ["\n".join(lines) for lines in split], count


def count_line_number_tokens(text: str) -> int:
    """Numbers at the edge of prose lines (12 letters or more) that chain like margin line numbers
    (the benchmark's measure, ungated: 0 when clean; rows of a table hold too few letters)."""
    lines = text.split("\n")
    prose = [c for c in _candidates(lines) if sum(ch.isalpha() for ch in lines[c.line]) >= 12]
    return sum(len(chain) for chain in _chains(prose))


__all__ = ["MIN_CHAIN", "MIN_SHARE", "count_line_number_tokens", "strip_line_numbers"]
