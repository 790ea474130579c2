"""Per-sample storage in the run store: each sample of an n-sample request is committed as it
finishes, a resume asks only for the missing ones (same seeds), failed samples stay failed and
visible. Orchestration only, with the scripted engine; the real kills are in test_research_real.py."""

from __future__ import annotations

import sqlite3

import pytest

import cycleresearcher.store as store_mod
from cycleresearcher.engines.base import ChatRequest, Completion, SamplingParams
from cycleresearcher.engines.runner import run_requests
from cycleresearcher.research import CycleResearcher, ResearchSettings
from cycleresearcher.store import RunStore, SampleResult, request_key
from support.fake_engine import FakeEngine


class Killed(BaseException):
    """Stands in for the process dying mid-batch (not an Exception: engines must not catch it)."""


def request(n: int = 3, seed: int | None = 7) -> ChatRequest:
    return ChatRequest(
        messages=[{"role": "user", "content": "write"}],
        sampling=SamplingParams(n=n, seed=seed, max_tokens=8),
        request_id="r",
    )


def sample_rows(store: RunStore) -> list[tuple]:
    return store.conn.execute(
        "SELECT sample, status, text, attempts FROM samples ORDER BY request_key, sample"
    ).fetchall()


def test_each_sample_is_committed_before_the_next_one_starts(tmp_path):
    run = tmp_path / "run"
    seen: list[tuple[int, int | None, int]] = []

    def script(req, k):
        # what another process sees in the run store at the moment sample k starts
        con = sqlite3.connect(run / "run.sqlite")
        stored = con.execute("SELECT COUNT(*) FROM samples WHERE status = 'done'").fetchone()[0]
        con.close()
        seen.append((k, req.sampling.seed, stored))
        return f"text {k}"

    engine = FakeEngine(script, samples_at_once=False)
    with RunStore(run) as store:
        [res] = run_requests(engine, store, "s", [request()])
        assert [c.text for c in res.completions] == ["text 0", "text 1", "text 2"] and res.ok
        assert sample_rows(store) == [(k, "done", f"text {k}", 1) for k in range(3)]
        [row] = store.request_rows("s")
        assert row["status"] == "done" and row["attempts"] == 1
    # one single-sample request per sample, seeded seed + k, each started after the previous was stored
    assert [c.sampling.n for c in engine.calls] == [1, 1, 1]
    assert seen == [(0, 7, 0), (1, 8, 1), (2, 9, 2)]


def test_resume_asks_only_for_the_missing_samples_with_their_own_seeds(tmp_path):
    run = tmp_path / "run"

    def dies_at_sample_2(req, k):
        if k == 2:
            raise Killed
        return f"first run {k}"

    with RunStore(run) as store, pytest.raises(Killed):
        run_requests(FakeEngine(dies_at_sample_2, samples_at_once=False), store, "s", [request(n=4)])
    with RunStore(run) as store:
        before = sample_rows(store)
        assert before == [(0, "done", "first run 0", 1), (1, "done", "first run 1", 1)]
        again = FakeEngine(lambda req, k: f"resumed {k}", samples_at_once=False)
        seen: list[int] = []
        [res] = run_requests(again, store, "s", [request(n=4)], on_sample=lambda i, s: seen.append(s.index))
        assert [(c.first_sample, c.sampling.seed, c.sampling.n) for c in again.calls] == [
            (2, 9, 1),
            (3, 10, 1),
        ]
        assert [c.text for c in res.completions] == ["first run 0", "first run 1", "resumed 2", "resumed 3"]
        assert sample_rows(store)[:2] == before, "a stored sample was generated again"
        assert seen == [0, 1, 2, 3]  # stored samples are reported too (exports, progress)
        [row] = store.request_rows("s")
        assert row["status"] == "done" and row["attempts"] == 1


def test_an_engine_that_draws_n_at_once_gets_one_request_for_the_missing_ones(tmp_path):
    req = request(n=3)
    key = request_key("s", req)
    with RunStore(tmp_path / "run") as store:
        store.mark_pending(key, "s", req)
        store.save_sample(key, SampleResult(0, Completion("kept", "stop", 2)))
        engine = FakeEngine(lambda r, k: f"new {k}")  # samples_at_once
        [res] = run_requests(engine, store, "s", [req], [key])
        [call] = engine.calls
        assert (call.sampling.n, call.sampling.seed, call.first_sample) == (2, 8, 1)
        assert [c.text for c in res.completions] == ["kept", "new 1", "new 2"]


def test_failed_samples_are_stored_as_failed_and_only_they_are_retried(tmp_path):
    run = tmp_path / "run"
    engine = FakeEngine(lambda req, k: f"text {k}", fail_on=[1], samples_at_once=False)
    with RunStore(run) as store:
        [res] = run_requests(engine, store, "s", [request()])
        assert not res.ok and res.error == "1 of 3 samples failed (sample 1: scripted failure)"
        # the finished ones keep their places; the failed one is marked, not silently empty text
        assert [(c.text, c.finish_reason) for c in res.completions] == [
            ("text 0", "stop"),
            ("", "error"),
            ("text 2", "stop"),
        ]
        assert [r[:2] for r in sample_rows(store)] == [(0, "done"), (1, "failed"), (2, "done")]
        assert store.request_rows("s")[0]["status"] == "failed"
        retry = FakeEngine(lambda req, k: f"retried {k}", samples_at_once=False)
        [res] = run_requests(retry, store, "s", [request()])
        assert [c.first_sample for c in retry.calls] == [1]
        assert res.ok and [c.text for c in res.completions] == ["text 0", "retried 1", "text 2"]
        assert sample_rows(store)[1] == (1, "done", "retried 1", 2)


def test_research_stores_each_paper_as_its_sample_finishes(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text(
        "@article{a1,\n  title={Sparse attention},\n  author={Doe, Jane},\n  year={2023},\n"
        "  abstract={We study sparse attention.}\n}\n",
        encoding="utf-8",
    )
    run = tmp_path / "run"
    stored_when_called: list[int] = []

    def script(req, k):
        with RunStore(run) as peek:
            stored_when_called.append(len(peek.items("paper")))
        return f"## Motivation\n\nSample {k}.\n"

    engine = FakeEngine(script, fail_on=[2], samples_at_once=False)
    researcher = CycleResearcher(engine=engine, run_dir=run)
    papers = researcher.generate([bib], ResearchSettings(n=3, max_tokens=16, seed=5))
    researcher.close()
    assert stored_when_called == [0, 1]  # the third call is the scripted failure
    assert [p.id.rsplit("-", 1)[1] for p in papers] == ["s0", "s1", "s2"]
    assert papers[1].motivation.strip() == "Sample 1."
    assert any("generation failed: scripted failure" in w for w in papers[2].warnings)
    # the resume asks for the failed sample only, and its paper replaces the failed one
    retry = FakeEngine(lambda req, k: f"## Motivation\n\nRetried {k}.\n", samples_at_once=False)
    researcher = CycleResearcher(engine=retry, run_dir=run)
    again = researcher.generate([bib], ResearchSettings(n=3, max_tokens=16, seed=5))
    researcher.close()
    assert [c.first_sample for c in retry.calls] == [2]
    assert [p.motivation.strip() for p in again] == ["Sample 0.", "Sample 1.", "Retried 2."]
    assert not any("generation failed" in w for p in again for w in p.warnings)


def test_a_run_store_from_before_the_samples_table_opens_and_resumes(tmp_path, monkeypatch):
    run = tmp_path / "run"
    req = request(n=2)
    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS[:1])
    with RunStore(run) as old:  # what the previous version wrote: the whole request's result only
        key = request_key("s", req)
        old.mark_pending(key, "s", req)
        old.save_result(key, FakeEngine(lambda r, k: f"old {k}").generate([req])[0])
        assert "samples" not in {r[0] for r in old.conn.execute("SELECT name FROM sqlite_master")}
    monkeypatch.undo()
    with RunStore(run) as store:
        engine = FakeEngine("SHOULD NOT BE CALLED", samples_at_once=False)
        seen: list[str] = []
        [res] = run_requests(engine, store, "s", [req], on_sample=lambda i, s: seen.append(s.completion.text))
        assert engine.calls == [] and seen == ["old 0", "old 1"] and res.ok
        names = [r[0] for r in store.conn.execute("SELECT name FROM _migrations ORDER BY name")]
        assert names == ["001_initial", "002_samples", "003_sample_warnings"]


@pytest.mark.parametrize("at_once", [False, True])
def test_identical_requests_in_one_batch_run_once_and_each_gets_the_result(tmp_path, at_once):
    engine = FakeEngine(lambda req, k: f"text {k}", samples_at_once=at_once)
    reqs = [request(n=2), request(n=2, seed=1), request(n=2)]  # 0 and 2 are the same request
    reqs[2].request_id = "copy"
    samples: list[tuple[int, int]] = []
    finished: list[int] = []
    with RunStore(tmp_path / "run") as store:
        out = run_requests(
            engine, store, "s", reqs,
            on_sample=lambda i, s: samples.append((i, s.index)),
            on_result=lambda i, r: finished.append(i),
        )  # fmt: skip
        # the two distinct requests are generated once each: 2 samples each, not 3 requests' worth
        assert sum(c.sampling.n for c in engine.calls) == 4
        assert (
            [c.text for c in out[2].completions]
            == [c.text for c in out[0].completions]
            == ["text 0", "text 1"]
        )
        assert out[2].request_id == "copy" and out[0].request_id == "r"
        assert sorted(samples) == [(i, k) for i in range(3) for k in range(2)]
        assert sorted(finished) == [0, 1, 2]
        assert {row["attempts"] for row in store.request_rows("s")} == {1}
    engine2 = FakeEngine(lambda req, k: "never", samples_at_once=at_once)
    with RunStore(tmp_path / "run") as store:
        again = run_requests(engine2, store, "s", reqs)
    assert engine2.calls == [] and [r.completions[0].text for r in again] == ["text 0", "text 0", "text 0"]
