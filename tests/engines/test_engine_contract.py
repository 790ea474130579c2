"""The engine contract: ``Engine.generate`` is written once in the base (the scaffolding every
engine used to copy), engines implement the one hook ``_generate(batch)``, and an engine written
for the old hooks is refused with a message that says what to write."""

from __future__ import annotations

import sys
import types

import pytest

from cycleresearcher.engines import Batch, ChatRequest, Completion, Engine, GenerationResult, engine_class
from cycleresearcher.engines.base import SamplingParams
from cycleresearcher.errors import InputError


def _requests(n: int) -> list[ChatRequest]:
    return [
        ChatRequest([{"role": "user", "content": f"q{i}"}], SamplingParams(max_tokens=10), request_id=f"r{i}")
        for i in range(n)
    ]


class Backwards(Engine):
    """Answers the batch last to first, fails request 1, skips request 0, times none of them."""

    name = "backwards"

    def _generate(self, batch: Batch) -> None:
        for i in reversed(range(len(batch))):
            if i == 1:
                batch.fail(i, ValueError("bad prompt"))
            elif i:
                batch.done(i, GenerationResult([Completion(f"a{i}", "stop", 2)]))

    def describe(self) -> dict:
        return {"engine": self.name}


def test_the_base_stamps_reports_and_completes_every_result():
    seen = []
    results = Backwards().generate(_requests(4), on_result=lambda i, r: seen.append((i, r.request_id)))
    assert seen == [(3, "r3"), (2, "r2"), (1, "r1")]  # as they finish, each with its request's id
    assert [r.request_id for r in results] == ["r0", "r1", "r2", "r3"]  # in the order asked
    assert results[1].error == "ValueError: bad prompt" and results[3].text == "a3"
    assert results[0].error == "engine returned no result"  # skipped: failed, not missing
    assert all(r.elapsed_s > 0 for r in results[1:])  # untimed results get the batch's time


def test_one_at_a_time_engines_get_a_reporter_per_request_and_fail_alone():
    class OneByOne(Engine):
        name = "one"

        def _generate(self, batch: Batch) -> None:
            batch.each(self._one)

        def _one(self, request, report):  # type: ignore[no-untyped-def]
            if request.request_id == "r1":
                raise RuntimeError("boom")
            report(3)
            return GenerationResult([Completion("x", "stop", 3)])

        def describe(self) -> dict:
            return {}

    events = []
    results = OneByOne().generate(_requests(3), on_progress=events.append)
    assert [(e.index, e.request_id, e.tokens, e.max_tokens) for e in events] == [(0, "r0", 3, 10), (2, "r2", 3, 10)]
    assert results[1].error == "RuntimeError: boom" and results[2].text == "x"
    assert OneByOne().generate([]) == []


def test_an_engine_written_for_the_old_hooks_is_refused_with_what_to_write(monkeypatch):
    module = types.ModuleType("old_style_engine_mod")

    class OldStyle(Engine):
        name = "old"

        def _generate_one(self, request):  # type: ignore[no-untyped-def]
            return GenerationResult([Completion("x")])

        def describe(self) -> dict:
            return {}

    module.OldStyle = OldStyle  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "old_style_engine_mod", module)
    with pytest.raises(InputError, match=r"does not implement _generate\. .*batch\.each\(self\._generate_one\)"):
        engine_class("old_style_engine_mod:OldStyle")


def test_no_engine_copies_the_scaffolding_or_sniffs_signatures():
    """What each engine used to repeat (the results list, the request id, the missing result) and
    the runner's ``inspect.signature`` check now live in the base alone."""
    from pathlib import Path

    import cycleresearcher.engines as pkg

    folder = Path(pkg.__file__).parent
    for path in folder.glob("*.py"):
        text = path.read_text()
        if path.name != "base.py":
            assert "request_id = " not in text.replace("request_id=", ""), path.name
            assert "def generate(" not in text, path.name
        assert "inspect.signature(engine" not in text, path.name
