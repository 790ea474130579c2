"""Samples restored by a resume keep the engine's warnings (e.g. a server that ignored
ignore_eos): from a finished request, and from the samples of an interrupted one."""

from __future__ import annotations

from cycleresearcher.engines.base import ChatRequest, GenerationResult, SamplingParams
from cycleresearcher.engines.runner import run_requests
from cycleresearcher.store import RunStore, request_key
from support.fake_engine import FakeEngine

NOTE = "engine: the server ignored ignore_eos"


class NotingEngine(FakeEngine):
    """The scripted engine, with the note a real server's reply would carry."""

    def _generate_one(self, request: ChatRequest) -> GenerationResult:
        res = super()._generate_one(request)
        res.warnings.append(NOTE)
        return res


def _request(n: int) -> ChatRequest:
    return ChatRequest(
        messages=[{"role": "user", "content": "write"}],
        sampling=SamplingParams(n=n, seed=1, max_tokens=8),
        request_id="r",
    )


def _samples(run, engine, n: int) -> dict[int, list[str]]:
    seen: dict[int, list[str]] = {}
    req = _request(n)
    with RunStore(run) as store:
        run_requests(engine, store, "s", [req], [request_key("s", req)],
                     on_sample=lambda _i, s: seen.__setitem__(s.index, list(s.warnings)))  # fmt: skip
    return seen


def test_a_finished_request_restores_its_warnings(tmp_path) -> None:
    run = tmp_path / "run"
    assert _samples(run, NotingEngine("text"), 2) == {0: [NOTE], 1: [NOTE]}
    again = FakeEngine("other")
    assert _samples(run, again, 2) == {0: [NOTE], 1: [NOTE]}  # was {0: [], 1: []}
    assert again.calls == []


def test_samples_of_an_interrupted_request_restore_their_warnings(tmp_path) -> None:
    run = tmp_path / "run"
    first = NotingEngine("text", samples_at_once=False, fail_on=[1])  # sample 1 fails: the request stays open
    assert _samples(run, first, 2)[0] == [NOTE]
    again = NotingEngine("text", samples_at_once=False)
    seen = _samples(run, again, 2)
    assert len(again.calls) == 1  # only the failed sample is drawn again
    assert seen[0] == [NOTE]  # restored from the samples table (was [])
