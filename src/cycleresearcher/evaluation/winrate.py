"""Win rate: an LLM judge compares two sets of reviews (A and B) of the same papers, per aspect.

- Which set's review is shown first is drawn per paper from ``random.Random(seed)`` and recorded
  (``first``), so position bias averages out and every run can be replayed.
- Verdicts are parsed strictly: only a line ``<Aspect>: A`` / ``B`` / ``Tie`` counts (markdown bold
  and a final period tolerated; the last such line of an aspect wins, as the prompt asks the judge
  to finish with them). Anything else, and any engine error, is ``unparsed`` and reported.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..engines.base import ChatRequest, Engine, SamplingParams
from .tables import Column, ResultTable

Side = Literal["a", "b"]
Outcome = Literal["a", "b", "tie", "unparsed"]
TRUNCATED = "\n\n[... truncated for the judge]"
_VERDICT_LINE = re.compile(
    r"^[\s*_`#>-]*(?P<aspect>[A-Za-z][A-Za-z \-]*?)[\s*_`]*:[\s*_`]*(?P<verdict>\S+?)[\s*_`.]*$"
)


def judge_prompt() -> dict[str, Any]:
    from ..prompts import load

    return load("winrate_judge")


@dataclass
class Pair:
    paper_id: str
    review_a: str
    review_b: str
    first: Side  # the set whose review is shown as "Review A"


def plan_pairs(reviews_a: Mapping[str, str], reviews_b: Mapping[str, str], seed: int = 0) -> list[Pair]:
    """Papers reviewed in both sets, sorted by id, each with a seeded random presentation order."""
    rng = random.Random(seed)
    common = sorted(set(reviews_a) & set(reviews_b))
    return [Pair(pid, reviews_a[pid], reviews_b[pid], "a" if rng.random() < 0.5 else "b") for pid in common]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + TRUNCATED


def build_messages(
    pair: Pair, paper: str | None = None, max_chars: int = 12000, prompt: Mapping[str, Any] | None = None
) -> list[dict[str, str]]:
    prompt = prompt or judge_prompt()
    aspects = list(prompt["aspects"])
    shown = (pair.review_a, pair.review_b) if pair.first == "a" else (pair.review_b, pair.review_a)
    paper_block = prompt["paper_block"].replace("{paper}", _clip(paper, max_chars)) if paper else ""
    help_lines = "\n".join(f"- {a}: {prompt['aspect_help'][a]}" for a in aspects)
    user = (
        prompt["user"]
        .replace("{aspect_lines}", "\n".join(f"{a}: A, B or Tie" for a in aspects))
        .replace("{aspect_help}", help_lines)
        .replace("{paper}", paper_block)
    )
    # reviews last: their text may itself contain "{...}" and must not be substituted into
    user = user.replace("{review_a}", "\0A\0").replace("{review_b}", "\0B\0")
    user = user.replace("\0A\0", _clip(shown[0].strip(), max_chars)).replace(
        "\0B\0", _clip(shown[1].strip(), max_chars)
    )
    return [{"role": "system", "content": prompt["system"]}, {"role": "user", "content": user}]


def parse_verdicts(text: str, aspects: Sequence[str]) -> dict[str, str | None]:
    """Aspect -> "A" / "B" / "Tie" as written (by position), or None when not stated strictly."""
    wanted = {a.lower(): a for a in aspects}
    found: dict[str, str | None] = dict.fromkeys(aspects)
    for line in text.splitlines():
        m = _VERDICT_LINE.match(line)
        if not m:
            continue
        aspect = wanted.get(m.group("aspect").strip().lower())
        if aspect is None:
            continue
        token = m.group("verdict")
        verdict = token if token in ("A", "B") else "Tie" if token.lower() == "tie" else None
        found[aspect] = verdict  # the last line of an aspect is its final verdict
    return found


def to_outcomes(verdicts: Mapping[str, str | None], first: Side) -> dict[str, Outcome]:
    """Position verdicts ("A" = the review shown first) -> which set won."""
    other: Side = "b" if first == "a" else "a"
    mapping: dict[str | None, Outcome] = {"A": first, "B": other, "Tie": "tie", None: "unparsed"}
    return {aspect: mapping[v] for aspect, v in verdicts.items()}


@dataclass
class Judgement:
    paper_id: str
    first: Side
    verdicts: dict[str, str | None]  # as written, by position
    outcomes: dict[str, Outcome]  # by set
    output: str = ""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge(
    engine: Engine,
    pairs: Sequence[Pair],
    papers: Mapping[str, str] | None = None,
    store: Any = None,
    sampling: SamplingParams | None = None,
    max_chars: int = 12000,
    on_result: Any = None,
) -> list[Judgement]:
    """Ask the judge about every pair through any engine (resumable through a RunStore)."""
    from ..engines.runner import run_requests

    prompt = judge_prompt()
    aspects = list(prompt["aspects"])
    sampling = sampling or SamplingParams(temperature=0.0, top_p=1.0, max_tokens=400)
    requests = [
        ChatRequest(
            build_messages(p, (papers or {}).get(p.paper_id), max_chars, prompt), sampling, p.paper_id
        )
        for p in pairs
    ]
    results = run_requests(engine, store, "winrate", requests, on_result=on_result)
    out = []
    for pair, res in zip(pairs, results, strict=True):
        verdicts = parse_verdicts(res.text, aspects) if res.ok else dict.fromkeys(aspects)
        judgement = Judgement(
            pair.paper_id, pair.first, verdicts, to_outcomes(verdicts, pair.first), res.text, res.error
        )
        if store is not None:
            store.put("winrate", pair.paper_id, judgement.to_dict())
        out.append(judgement)
    return out


@dataclass
class WinrateRow:
    aspect: str
    a_wins: int
    b_wins: int
    ties: int
    unparsed: int
    a_win_rate: float | None = None
    b_win_rate: float | None = None
    tie_rate: float | None = None
    unparsed_papers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "unparsed_papers"}


def aggregate(judgements: Sequence[Judgement], aspects: Sequence[str]) -> list[WinrateRow]:
    """Per aspect: wins, ties, unparsed; rates over the parsed verdicts (unparsed excluded)."""
    rows = []
    for aspect in aspects:
        outcomes = [j.outcomes.get(aspect, "unparsed") for j in judgements]
        row = WinrateRow(
            aspect,
            outcomes.count("a"),
            outcomes.count("b"),
            outcomes.count("tie"),
            outcomes.count("unparsed"),
        )
        row.unparsed_papers = [
            j.paper_id for j, o in zip(judgements, outcomes, strict=True) if o == "unparsed"
        ]
        judged = row.a_wins + row.b_wins + row.ties
        if judged:
            row.a_win_rate, row.b_win_rate, row.tie_rate = (
                row.a_wins / judged,
                row.b_wins / judged,
                row.ties / judged,
            )
        rows.append(row)
    return rows


def winrate_table(
    rows: Sequence[WinrateRow],
    judgements: Sequence[Judgement],
    name_a: str = "A",
    name_b: str = "B",
    seed: int = 0,
) -> ResultTable:
    columns = [
        Column("aspect", "Aspect", "str"),
        Column("a_wins", f"{name_a} wins", "int"),
        Column("b_wins", f"{name_b} wins", "int"),
        Column("ties", "Ties", "int"),
        Column("unparsed", "Unparsed", "int"),
        Column("a_win_rate", f"{name_a} win rate", "pct", 1),
        Column("b_win_rate", f"{name_b} win rate", "pct", 1),
        Column("tie_rate", "Tie rate", "pct", 1),
    ]
    a_first = sum(j.first == "a" for j in judgements)
    errors = sum(j.error is not None for j in judgements)
    notes = [
        f"A = {name_a}, B = {name_b}; {len(judgements)} papers judged; {name_a} shown first in {a_first} "
        f"(order drawn with seed {seed}, recorded per paper in judgements.jsonl).",
        "Rates are over parsed verdicts; a verdict counts only as a line '<Aspect>: A|B|Tie'. "
        f"Unparsed includes {errors} engine error(s).",
    ]
    return ResultTable("Win rate", columns, [r.to_dict() for r in rows], notes)
