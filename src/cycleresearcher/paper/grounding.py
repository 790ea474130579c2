"""Grounding: whether the numbers of the results LaTeX (turn 5) come from the supplied results.

Every number that counts as a result (``GROUNDING_RULE``) must equal a number of the results
(table cells, descriptions, notes) within the rounding it shows, ignoring the sign, or as a
percentage of a fraction and back, or follow from them by one step (``derive``: a difference,
relative change, ratio, or the mean of a row or column; the derivation is kept to be shown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..latex import strip_comments
from .derive import Derivations
from .results import ResultItem

# A number as shown: optional sign, digits with optional thousands commas, optional decimals.
_NUMBER = re.compile(r"(?<![\w.])[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.])[-−]?\.\d+")


@dataclass(frozen=True)
class Shown:
    """A number as written: its value and how many decimals it shows."""

    value: float
    decimals: int


def _shown(token: str) -> Shown:
    t = token.replace("−", "-").replace(",", "")
    decimals = len(t.split(".", 1)[1]) if "." in t else 0
    return Shown(float(t), decimals)


def supplied_numbers(items: list[ResultItem]) -> list[Shown]:
    """Every number in the supplied results: table cells (header included), descriptions, notes."""
    texts: list[str] = []
    for item in items:
        if item.table:
            texts += [c for row in [item.table.header, *item.table.rows] for c in row]
        texts.append(item.text)
    out = []
    for text in texts:
        for m in _NUMBER.finditer(text):
            out.append(_shown(m.group()))
    return out


def _matches(n: Shown, supplied: list[Shown]) -> bool:
    """Exact, or equal within the rounding ``n`` shows (81.2 matches 81.23), sign ignored
    (differences are often quoted without it), also as a percentage of a fraction and back."""
    tol = 0.5 * 10 ** (-n.decimals) + 1e-9
    target = abs(n.value)
    for s in supplied:
        v = abs(s.value)
        for candidate in (v, v * 100, v / 100):
            if abs(candidate - target) <= tol:
                return True
    return False


# What is not a result: cross-references and citations, labels, lengths, names with digits.
_DROP_COMMANDS = re.compile(
    r"\\(?:[a-zA-Z]*ref|label|cite[a-zA-Z]*|nocite|url|href|includegraphics|input|include|begin|end"
    r"|multicolumn|multirow|cmidrule|cline|hspace|vspace|setlength|addlinespace|arraystretch"
    r"|section|subsection|subsubsection|paragraph|cellcolor|rowcolor|columncolor|textcolor|color)\*?\s*(?:\[[^\]]*\]\s*)?\{[^{}]*\}(?:\s*\{[^{}]*\})?"
)
_UNIT = re.compile(r"\s*(?:pt|mm|cm|em|ex|in|bp|\\(?:line|text|column)width)\b")
_CROSSREF_WORD = re.compile(
    r"(?i)(?:section|sec\.|chapter|appendix|table|tab\.|figure|fig\.|eq\.|eqn\.|equation|algorithm|alg\."
    r"|theorem|lemma|corollary|proposition|definition|assumption|step|line|part|stage|phase)\s*~?\s*\(?$"
)
_MATH_SUB = re.compile(r"[_^]\s*\{?\s*$")


@dataclass
class UngroundedNumber:
    number: str
    context: str  # the text around it, to find it

    def to_dict(self) -> dict[str, str]:
        return {"number": self.number, "context": self.context}


@dataclass
class DerivedNumber:
    """A number grounded by one step from the supplied results (not found among them as is)."""

    number: str
    kind: str  # derive.Derivation.kind
    derivation: str  # "32.11 - 28.85 = 3.26"
    context: str

    def to_dict(self) -> dict[str, str]:
        return {
            "number": self.number,
            "kind": self.kind,
            "derivation": self.derivation,
            "context": self.context,
        }


@dataclass
class Grounding:
    checked: int  # numbers in the results LaTeX that count as results
    grounded: int  # found among the results or derived from them
    ungrounded: list[UngroundedNumber]
    derived: list[DerivedNumber] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        return self.grounded / self.checked if self.checked else None

    def summary(self) -> dict[str, Any]:
        return {
            "checked": self.checked, "grounded": self.grounded, "rule": GROUNDING_RULE,
            "derived": [d.to_dict() for d in self.derived],
        }  # fmt: skip


GROUNDING_RULE = (
    "numbers in the results LaTeX, except: inside \\ref/\\label/\\cite/\\url/\\begin/\\section and "
    "table-layout commands, comments, lengths (3pt, 0.5\\linewidth), sub/superscripts and bases of powers, numbers glued to a "
    "name (GPT-4, F1, 7B), numbers after Section/Table/Figure/Eq./Appendix/..., years 1900-2099, "
    "equation tags (1), and one-digit integers (counts, indices); each must equal a supplied number "
    "within the rounding it shows, ignoring sign, or as a percentage of a fraction (or back), or follow "
    "from one table column by one step: a difference of its best, worst, first or last number and "
    "another, the same as a relative change (a percentage) or a ratio (written as times), the mean "
    "of a row, a column or a metric's columns in a row (the derivation is shown)"
)


def result_numbers(latex: str) -> list[tuple[str, int, int]]:
    """(token, start, end) of every number in ``latex`` that counts as a result (GROUNDING_RULE)."""
    text = strip_comments(latex, keep_width=True)
    text = _DROP_COMMANDS.sub(lambda m: " " * len(m.group()), text)
    out = []
    for m in _NUMBER.finditer(text):
        tok, start, end = m.group(), m.start(), m.end()
        before, after = text[max(0, start - 30) : start], text[end : end + 12]
        plain = tok.lstrip("-−")
        if re.match(r"[A-Za-z]", after) or _UNIT.match(after):
            continue  # 7B, 1st, 96M, 2x, 3pt: part of a name or a length
        if re.search(r"[A-Za-z]-?$", before) and not before.endswith("\\"):
            continue  # GPT-4, ETTh1, F1, AP50
        if re.search(r"\\[A-Za-z]+$", before):
            continue  # \num1-like control words glued to the number
        if _MATH_SUB.search(before) or re.match(r"\s*\^", after):
            continue  # x_1, 10^{3}: indices, exponents and the bases of powers
        if _CROSSREF_WORD.search(before):
            continue  # Table 2, Section 4.1, Eq. (3)
        if re.fullmatch(r"(?:19|20)\d\d", plain):
            continue  # a year
        if re.search(r"\(\s*$", before) and re.match(r"\s*\)", after) and "." not in plain:
            continue  # (1): an equation or list tag
        if re.fullmatch(r"\d", plain):
            continue  # one-digit counts and indices: 3 datasets, k = 5
        out.append((tok, start, end))
    return out


def check_grounding(latex: str, items: list[ResultItem]) -> Grounding:
    """Match every result number of ``latex`` against the supplied results (GROUNDING_RULE)."""
    supplied = supplied_numbers(items)
    found = result_numbers(latex)
    derivations: Derivations | None = None  # built on the first number not found as is
    ungrounded: list[UngroundedNumber] = []
    derived: list[DerivedNumber] = []
    for tok, start, end in found:
        shown = _shown(tok)
        if _matches(shown, supplied):
            continue
        context = re.sub(r"\s+", " ", latex[max(0, start - 40) : end + 40]).strip()
        derivations = derivations or Derivations(items)
        how = derivations.explain(shown.value, shown.decimals, tok.lstrip("-−"), latex[end : end + 12])
        if how:
            derived.append(DerivedNumber(tok, how.kind, how.text, context))
        else:
            ungrounded.append(UngroundedNumber(tok, context))
    return Grounding(
        checked=len(found), grounded=len(found) - len(ungrounded), ungrounded=ungrounded, derived=derived
    )


def ungrounded_spans(latex: str, numbers: list[dict[str, str]]) -> list[tuple[int, int]]:
    """Positions in ``latex`` of the recorded ungrounded numbers (for highlighting)."""
    wanted = {n.get("number") for n in numbers}
    return [(s, e) for tok, s, e in result_numbers(latex) if tok in wanted]


__all__ = [
    "GROUNDING_RULE",
    "DerivedNumber",
    "Grounding",
    "Shown",
    "UngroundedNumber",
    "check_grounding",
    "result_numbers",
    "supplied_numbers",
    "ungrounded_spans",
]
