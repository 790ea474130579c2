"""The CycleResearcher prompts, byte-exact to what the released weights were trained on.

The strings live in ``prompts/researcher.json`` (FORMATS.md section 1); this module only joins
them. A prompt that differs by one space is a different prompt for the model, so nothing here
strips, wraps or re-indents user text.

Conversation layout (the five turns of the training records)::

    system     system_prompt()
    user       user_prompt(references_block, topic)      [topic line] + block + "\\n\\n" + instruction
    assistant  idea, LaTeX (title ... methods), experimental setup JSON
    user       results_message(results)                  "## Experimental_results" + fenced JSON
    assistant  LaTeX: experiments, results, conclusion
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..errors import InputError
from ..latex_json import dump_json, read_json
from . import load

_P = load("researcher")

#: literal backslashes: the model ends a paper with ``\clearpage``
STOP_STRINGS: tuple[str, ...] = tuple(_P["stop"])
#: tokens of context the released models were used with upstream
CONTEXT_LENGTH: int = int(_P["context_length"])
#: upstream sampling as plain data (temperature 0.4, top_p 0.95, 19,000 new tokens, EOS ignored;
#: the stop strings are ``STOP_STRINGS``). Read-only: the prompts layer knows no engine, so
#: ``research.default_sampling()`` turns it into ``SamplingParams``.
UPSTREAM_SAMPLING: Mapping[str, Any] = MappingProxyType(dict(_P["sampling"]))
INSTRUCTION: str = _P["instruction"]
RESULTS_HEADER: str = _P["results_header"]


def system_prompt() -> str:
    """The 779-character system prompt (note the trailing spaces after ``References.``)."""
    return _P["system"]


def topic_line(topic: str | None) -> str:
    """``Generate a research paper on the topic: {topic}\\n\\n``, or "" when there is no topic."""
    if topic is None or not topic.strip():
        return ""
    return _P["topic_line"].format(topic=topic.strip())


def user_prompt(references_text: str, topic: str | None = None, *, separator: str | None = None) -> str:
    """The first user turn: optional topic line, the references block, ``\\n\\n``, the instruction.

    ``references_text`` is the training-layout block (``references.render_references``), used as
    is. ``separator`` defaults to the blank line of FORMATS.md; the training records glued the raw
    block (with whatever whitespace it ended in) straight onto the instruction, so rebuilding
    one of them exactly needs ``separator=""``.
    """
    sep = _P["separator"] if separator is None else separator
    return f"{topic_line(topic)}{references_text}{sep}{INSTRUCTION}"


def build_messages(references_text: str, topic: str | None = None) -> list[dict[str, str]]:
    """System + user turns for the first generation (turns 1-2 of the training conversation)."""
    return [
        {"role": "system", "content": system_prompt()},
        {"role": "user", "content": user_prompt(references_text, topic)},
    ]


def results_message(results: Any) -> str:
    """Turn 4: ``## Experimental_results`` and the results as a fenced JSON list.

    Serialised exactly like the training records: ``json.dumps`` defaults (ASCII escapes, ``", "``
    and ``": "`` separators, key order kept) and the closing fence glued to the JSON.
    ``results`` is the parsed list (``[{"name": ..., "result": {"table": ..., "description": ...}}]``)
    or a JSON string / bytes holding it.
    """
    if isinstance(results, (str, bytes)):
        try:
            results = read_json(results, "the experimental results")  # LaTeX commands stay literal
        except json.JSONDecodeError as exc:
            raise InputError(
                f"The experimental results are not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                'expected a list like [{"name": "...", "result": {"table": [...], "description": "..."}}]'
            ) from exc
    if isinstance(results, dict):
        results = [results]  # one experiment given on its own
    if not isinstance(results, list):
        raise InputError(
            f"The experimental results must be a JSON list of experiments, got {type(results).__name__}; "
            'expected [{"name": "...", "result": {...}}, ...]'
        )
    # dump_json: json.dumps with LaTeX backslashes written once, as in the training records
    return f"{RESULTS_HEADER}{dump_json(results)}{_P['results_footer']}"


__all__ = [
    "CONTEXT_LENGTH",
    "INSTRUCTION",
    "STOP_STRINGS",
    "UPSTREAM_SAMPLING",
    "build_messages",
    "results_message",
    "system_prompt",
    "topic_line",
    "user_prompt",
]
