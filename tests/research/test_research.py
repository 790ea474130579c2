"""Orchestration of CycleResearcher with a scripted engine (the real engine path is tested in
test_research_real.py): prompts, n samples, run store, resume, two-stage, context fitting."""

from __future__ import annotations

import pytest

from cycleresearcher.engines.base import SamplingParams
from cycleresearcher.errors import ContextLengthError
from cycleresearcher.prompts.research import STOP_STRINGS, build_messages, system_prompt
from cycleresearcher.references import load_references, render_references
from cycleresearcher.research import (
    DEFAULT_SAMPLING,
    STAGE1_STOP,
    CycleResearcher,
    ResearchSettings,
    default_sampling,
)
from cycleresearcher.store import RunStore
from researcher_outputs import RESULTS, STAGE1, TURN5, simulated_output
from support.fake_engine import FakeEngine


def test_prompt_is_byte_exact_and_n_samples_share_one_request(bib, tmp_path):
    engine = FakeEngine(lambda req, k: simulated_output(k))
    researcher = CycleResearcher(engine=engine, run_dir=tmp_path / "run")
    papers = researcher.generate([bib], ResearchSettings(n=3, max_tokens=100))
    assert len(papers) == 3
    assert len(engine.calls) == 1, "the n samples of one reference set must be one request (prefill shared)"
    req = engine.calls[0]
    assert req.sampling.n == 3
    assert req.sampling.ignore_eos is True
    assert "\\clearpage" in req.sampling.stop
    refs = load_references(bib)
    assert req.messages == build_messages(render_references(refs.references))
    assert req.messages[0]["content"] == system_prompt()
    assert [p.title for p in papers] == [f"Key {{Compression}} {k} for Attention" for k in range(3)]
    for p in papers:
        assert p.results_simulated is True
        assert p.experimental_results == RESULTS
        assert "vaswani2017attention" in p.references_bib
    stored = dict(researcher.store.items("paper"))
    assert sorted(stored) == sorted(p.id for p in papers)
    assert all(d["results_simulated"] for d in stored.values())


def test_resume_reuses_finished_requests(bib, tmp_path):
    run = tmp_path / "run"
    first = FakeEngine(lambda req, k: simulated_output(k))
    CycleResearcher(engine=first, run_dir=run).generate([bib], ResearchSettings(n=2, max_tokens=100))
    again = FakeEngine(lambda req, k: "SHOULD NOT BE CALLED")
    papers = CycleResearcher(engine=again, run_dir=run).generate([bib], ResearchSettings(n=2, max_tokens=100))
    assert again.calls == []
    assert len(papers) == 2 and papers[0].title.startswith("Key")
    with RunStore(run) as store:
        rows = store.request_rows("research")
    assert len(rows) == 1 and rows[0]["status"] == "done" and rows[0]["attempts"] == 1


def test_failed_request_gives_a_partial_paper_and_the_batch_goes_on(bib, tmp_path):
    other = tmp_path / "other.bib"
    other.write_text(
        bib.read_text().replace("vaswani2017attention", "vaswani2017b").replace("dao2022flash", "dao2022b")
    )
    engine = FakeEngine(lambda req, k: simulated_output(k), fail_on=[0])
    researcher = CycleResearcher(engine=engine, run_dir=tmp_path / "run")
    papers = researcher.generate([bib, other], ResearchSettings(n=1, max_tokens=100))
    assert len(papers) == 2
    assert any("generation failed" in w for w in papers[0].warnings)
    assert papers[1].title.startswith("Key")
    # the failed request is retried on resume, the finished one is not
    retry = FakeEngine(lambda req, k: simulated_output(k))
    again = CycleResearcher(engine=retry, run_dir=tmp_path / "run").generate(
        [bib, other], ResearchSettings(n=1, max_tokens=100)
    )
    assert len(retry.calls) == 1
    assert again[0].title.startswith("Key")


def test_two_stage_with_real_results(bib, tmp_path):
    def script(req, k):
        if len(req.messages) == 2:
            return STAGE1 + "\n" + STAGE1_STOP + "\n\n```json\n[]```"  # the stop string cuts here
        return TURN5

    engine = FakeEngine(script)
    researcher = CycleResearcher(engine=engine, run_dir=tmp_path / "run")
    [draft] = researcher.generate([bib], ResearchSettings(n=1, mode="two-stage", max_tokens=100))
    assert STAGE1_STOP in engine.calls[0].sampling.stop
    assert engine.calls[0].sampling.ignore_eos is False
    assert draft.meta["stage"] == "awaiting_results"
    assert draft.experimental_setup == [{"name": "Main", "description": "Compare perplexity."}]
    done = researcher.complete(draft, RESULTS)
    chat = engine.calls[1].messages
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "user"]
    assert chat[:2] == engine.calls[0].messages
    assert chat[3]["content"].startswith("## Experimental_results\n\n```json\n")
    assert done.results_simulated is False
    assert done.experimental_results == RESULTS
    assert "Ours reaches 10.1" in done.latex
    assert researcher.store.get("paper", done.id)["results_simulated"] is False


def test_context_overflow_is_refused_before_generation_or_dropped_to_fit(bib, tmp_path):
    engine = FakeEngine("x", context_length=400)
    researcher = CycleResearcher(engine=engine)
    with pytest.raises(ContextLengthError, match="--drop-to-fit"):
        researcher.generate([bib], ResearchSettings(max_tokens=20))
    assert engine.calls == []
    big = FakeEngine("x", context_length=420)
    papers = CycleResearcher(engine=big).generate(
        [bib], ResearchSettings(max_tokens=20, drop_to_fit=True, topic="fast attention on long sequences")
    )
    assert len(big.calls) == 1
    assert "dropped" in " ".join(papers[0].meta["reference_warnings"])  # not a parser warning
    assert papers[0].meta["dropped_references"], "the dropped references must be named"


def test_generate_paper_returns_model_card_dicts(bib):
    engine = FakeEngine(lambda req, k: simulated_output(k))
    out = CycleResearcher(engine=engine).generate_paper(
        topic="attention", references=bib.read_text(), n=2, max_tokens=50
    )
    assert len(out) == 2
    for key in (
        "title",
        "abstract",
        "latex",
        "motivation",
        "idea",
        "interestingness",
        "feasibility",
        "novelty",
        "Experimental_Setup",
        "Experimental_results",
        "generated_text",
    ):
        assert key in out[0]
    assert out[0]["interestingness"] == 7
    assert (
        engine.calls[0]
        .messages[1]["content"]
        .startswith("Generate a research paper on the topic: attention\n\n")
    )


def test_sampling_defaults() -> None:
    """The upstream settings of the prompts layer, as the engines' SamplingParams."""
    assert STOP_STRINGS == ("\\clearpage", "\\clear", "clearpage")
    assert isinstance(DEFAULT_SAMPLING, SamplingParams)
    assert (DEFAULT_SAMPLING.temperature, DEFAULT_SAMPLING.top_p, DEFAULT_SAMPLING.max_tokens) == (
        0.4,
        0.95,
        19000,
    )
    assert DEFAULT_SAMPLING.ignore_eos is True and DEFAULT_SAMPLING.stop == list(STOP_STRINGS)
    mine = default_sampling(n=4)
    mine.stop.append("x")
    assert mine.n == 4 and DEFAULT_SAMPLING.n == 1 and "x" not in DEFAULT_SAMPLING.stop
