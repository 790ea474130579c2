"""A scripted engine for unit tests of orchestration only (never a stand-in for the real path).

Not registered: the CLI reaches it as ``--engine support.fake_engine:FakeEngine``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from cycleresearcher.engines.base import Batch, ChatRequest, Completion, Engine, GenerationResult

Script = Callable[[ChatRequest, int], str] | Sequence[str] | str


class FakeEngine(Engine):
    """Answers from a script: a string, a list of strings (cycled per call), or a function
    ``(request, sample_index) -> str``. ``fail_on`` lists call numbers that return an error.
    ``samples_at_once=False`` makes it draw samples one at a time like llama.cpp (the run store
    then sends one request per sample; ``sample_index`` is then ``request.first_sample``).
    ``model`` is what ``load_engine`` passes every engine; the script ignores it. ``model_id``
    (what a served model's name would be) can be set to see the grammar default for other models.
    ``delay`` (seconds) makes each call slow, for tests that kill or race a running command;
    ``log`` names a file that gets one line per call, so calls are counted across processes."""

    name = "fake"

    def __init__(
        self,
        script: Script = "",
        *,
        model: str | None = None,
        context_length: int | None = 32768,
        fail_on: Sequence[int] = (),
        samples_at_once: bool = True,
        delay: float = 0.0,
        log: str | None = None,
    ):
        self.script = script
        self.delay = delay
        self.log = log
        self.samples_at_once = samples_at_once
        self.context_length = context_length
        self.fail_on = set(fail_on)
        self.calls: list[ChatRequest] = []
        # its scripts speak the released models' formats, so it is one of them to the grammar
        # default (models.model_kind): auto leaves it unconstrained, as for a released checkpoint
        self.model_id = "fake-cycleresearcher"

    def _text(self, request: ChatRequest, k: int) -> str:
        if callable(self.script):
            return self.script(request, k)
        if isinstance(self.script, str):
            return self.script
        return self.script[(len(self.calls) - 1 + k) % len(self.script)]

    def _generate(self, batch: Batch) -> None:
        # one request at a time; tests override ``_generate_one`` to script a result's details
        batch.each(lambda request, _report: self._generate_one(request))

    def _generate_one(self, request: ChatRequest) -> GenerationResult:
        self.calls.append(request)
        if self.log:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()} {request.request_id} {request.first_sample}\n")
        if self.delay:
            time.sleep(self.delay)
        if len(self.calls) - 1 in self.fail_on:
            return GenerationResult(error="scripted failure")
        comps = []
        for k in range(request.sampling.n):
            text = self._text(request, request.first_sample + k)
            for s in request.sampling.stop:
                if s and s in text:
                    text = text[: text.index(s)]
            comps.append(
                Completion(text=text, finish_reason="stop", completion_tokens=max(1, len(text) // 4))
            )
        return GenerationResult(completions=comps, prompt_tokens=self.count_tokens(request.messages))

    def describe(self) -> dict[str, Any]:
        return {"engine": "fake"}
