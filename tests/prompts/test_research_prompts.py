"""prompts/research.py: the CycleResearcher prompts, byte-exact to the training conversations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cycleresearcher.errors import InputError
from cycleresearcher.prompts import load
from cycleresearcher.prompts.research import (
    INSTRUCTION,
    STOP_STRINGS,
    UPSTREAM_SAMPLING,
    build_messages,
    results_message,
    system_prompt,
    user_prompt,
)
from cycleresearcher.references import load_references, render_references


def test_prompt_file_names_its_source() -> None:
    data = load("researcher")
    assert "FORMATS.md" in data["source"]


def test_system_prompt_shape() -> None:
    text = system_prompt()
    assert len(text) == 779
    assert "1. Analyze the given References. \n" in text  # the trailing space is part of the prompt
    assert "   - Methods/\n" in text
    assert text.endswith("standard scientific writing conventions.")


def test_user_prompt_layout() -> None:
    assert user_prompt("BLOCK") == "BLOCK\n\n" + INSTRUCTION
    assert user_prompt("BLOCK", topic="  sparse experts ") == (
        "Generate a research paper on the topic: sparse experts\n\nBLOCK\n\n" + INSTRUCTION
    )
    assert user_prompt("BLOCK", topic="   ") == user_prompt("BLOCK")
    assert INSTRUCTION.startswith("The above content represents the relevant literature")
    assert INSTRUCTION.endswith("Methods sections in LaTeX format.")


def test_build_messages_from_a_bib(data_dir: Path) -> None:
    block = render_references(load_references(data_dir / "references" / "plain.bib"))
    messages = build_messages(block, topic="drift")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == system_prompt()
    assert (
        messages[1]["content"] == f"Generate a research paper on the topic: drift\n\n{block}\n\n{INSTRUCTION}"
    )


def test_sampling_defaults_are_plain_read_only_data() -> None:
    assert STOP_STRINGS == ("\\clearpage", "\\clear", "clearpage")
    assert dict(UPSTREAM_SAMPLING) == {"temperature": 0.4, "top_p": 0.95, "max_tokens": 19000, "ignore_eos": True}
    with pytest.raises(TypeError):
        UPSTREAM_SAMPLING["temperature"] = 1.0  # type: ignore[index]


def test_results_message_layout(data_dir: Path) -> None:
    raw = (data_dir / "references" / "results.json").read_text(encoding="utf-8")
    results = json.loads(raw)
    text = results_message(results)
    assert text.startswith('## Experimental_results\n\n```json\n[{"name": "Main comparison", ')
    assert text.endswith("}}]```")  # the closing fence is glued to the JSON
    assert "\\u03c1 \\u2192 \\u221e" in text  # ASCII escapes, as in the training records
    assert results_message(raw) == text  # a JSON string is accepted too
    assert results_message(results[0]) == results_message([results[0]])


def test_results_message_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        results_message("[{oops")
    with pytest.raises(InputError, match="must be a JSON list"):
        results_message("42")


# -- conformance: the released training records ------------------------------------------------


def _records(fixtures_dir: Path) -> list[dict]:
    paths = sorted((fixtures_dir / "research").glob("conversation_*.json"))
    assert len(paths) == 6
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths]


def test_system_prompt_matches_training(fixtures_dir: Path) -> None:
    for record in _records(fixtures_dir):
        assert record["messages"][0] == {"role": "system", "content": system_prompt()}


def test_user_turn_rebuilt_from_parsed_references(fixtures_dir: Path) -> None:
    for record in _records(fixtures_dir):
        user = record["messages"][1]
        assert user["role"] == "user" and user["content"].endswith(INSTRUCTION)
        block = user["content"][: -len(INSTRUCTION)]
        rebuilt = user_prompt(render_references(load_references(block, strict=False)), separator="")
        assert rebuilt == user["content"]


def test_results_turn_matches_training(fixtures_dir: Path) -> None:
    for record in _records(fixtures_dir):
        turn = record["messages"][3]
        assert turn["role"] == "user"
        payload = turn["content"][len("## Experimental_results\n\n```json\n") : -len("```")]
        assert results_message(json.loads(payload)) == turn["content"]
