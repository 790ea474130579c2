"""The optional model judge: any engine is shown the idea and the retrieved works' abstracts and
answers with a reason and a decision. Its answer is shown beside the retrieval evidence, never
instead of it: the verdict stays the retrieval's.

Prompt: ``JUDGE_SYSTEM`` and ``judge_prompt()`` below (documented in docs/novelty.md).

Decision rule (``DECISION_RULE``): the answer must hold a JSON object ``{"reason": ...,
"decision": "overlaps" | "distinct", "closest": <work number or null>}``; ``overlaps`` when a shown
work already does what the idea proposes, ``distinct`` when none does. Anything else (no JSON, an
unknown decision, an engine error) is ``undecided``, reported as such and never counted as
``distinct`` (as AI Scientist counts an undecided idea as not novel).
"""

from __future__ import annotations

import json_repair

from ..engines.base import ChatRequest, Engine, SamplingParams
from .records import JudgeAnswer, Match, Subject

JUDGE_SYSTEM = (
    "You compare a research idea with earlier works. You decide only from the works shown; "
    "you do not claim anything about works you were not shown."
)
DECISION_RULE = (
    'decision "overlaps" when a shown work already does what the idea proposes, "distinct" when none '
    'does; an answer without a JSON object holding one of these two is "undecided"'
)
#: characters of each abstract shown to the judge
ABSTRACT_CHARS = 1200


def judge_prompt(subject: Subject, matches: list[Match]) -> str:
    idea = "\n\n".join(subject.queries()) or "(no idea text)"
    works = "\n\n".join(
        f"[{i}] {m.work.title}{f' ({m.work.year})' if m.work.year else ''}\n{m.work.abstract[:ABSTRACT_CHARS]}"
        for i, m in enumerate(matches, 1)
    )
    return (
        f"## Idea\n\n{idea}\n\n## Earlier works (retrieved)\n\n{works or '(none)'}\n\n"
        "## Task\n\nDoes any of the earlier works above already do what the idea proposes (the same "
        "problem and the same approach)? Answer with one JSON object and nothing else:\n"
        '{"reason": "<two or three sentences>", "decision": "overlaps" or "distinct", '
        '"closest": <the number of the closest work, or null>}'
    )


def parse_answer(text: str, matches: list[Match], model: str = "") -> JudgeAnswer:
    """The judge's text -> JudgeAnswer under ``DECISION_RULE``."""
    start, end = text.find("{"), text.rfind("}")
    data = json_repair.loads(text[start : end + 1]) if 0 <= start < end else None
    if not isinstance(data, dict):
        return JudgeAnswer("undecided", "the judge gave no JSON answer", model=model, raw=text)
    decision = str(data.get("decision") or "").strip().lower()
    if decision not in ("overlaps", "distinct"):
        decision = "undecided"
    closest = data.get("closest")
    title = ""
    if (
        isinstance(closest, (int, float))
        and not isinstance(closest, bool)
        and 1 <= int(closest) <= len(matches)
    ):
        title = matches[int(closest) - 1].work.title
    return JudgeAnswer(decision, str(data.get("reason") or "").strip(), title, model, text)


def judge(engine: Engine, subject: Subject, matches: list[Match], max_tokens: int = 400) -> JudgeAnswer:
    """One request to ``engine`` (temperature 0); an engine error gives ``undecided``."""
    request = ChatRequest(
        [
            {"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": judge_prompt(subject, matches)},
        ],
        SamplingParams(temperature=0.0, top_p=1.0, max_tokens=max_tokens, seed=0),
        request_id=f"novelty-judge:{subject.label}",
    )
    model = getattr(engine, "model_id", "") or engine.name
    result = engine.generate([request])[0]
    if not result.ok:
        return JudgeAnswer("undecided", f"the judge failed: {result.error}", model=model)
    return parse_answer(result.text, matches, model)


__all__ = ["DECISION_RULE", "JUDGE_SYSTEM", "judge", "judge_prompt", "parse_answer"]
