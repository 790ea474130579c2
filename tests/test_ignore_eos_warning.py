"""An engine that cannot honour ignore_eos says so: a real llama_cpp.server drops the field and
stops at EOS; the result carries the warning, the paper too, and the summary says it once."""

from __future__ import annotations

import pytest

from conftest import llama_server_process
from cycleresearcher.engines.base import ChatRequest, GenerationResult, SamplingParams
from cycleresearcher.engines.openai_compat import OpenAIEngine
from cycleresearcher.engines.openai_wire import ignored_eos_note, parse_response
from support.fake_engine import FakeEngine

SHORT = [{"role": "user", "content": "Reply with one word: yes."}]


@pytest.mark.slow
def test_llama_cpp_server_ignoring_ignore_eos_is_reported(embedded_gguf):
    with llama_server_process(embedded_gguf, n_ctx=1024) as url:
        engine = OpenAIEngine(base_url=url, max_retries=0)
        try:
            asked, plain = engine.generate(
                [
                    ChatRequest(SHORT, SamplingParams(temperature=0.0, max_tokens=256, ignore_eos=True)),
                    ChatRequest(SHORT, SamplingParams(temperature=0.0, max_tokens=256)),
                ]
            )
        finally:
            engine.close()
    assert asked.ok and plain.ok
    [comp] = asked.completions
    assert comp.finish_reason == "stop" and comp.completion_tokens < 128, "the server honoured ignore_eos?"
    [note] = asked.warnings
    assert "does not honour ignore_eos" in note and "llama_cpp.server" in note and url in note
    assert plain.warnings == [], "no warning when ignore_eos was not asked"


def test_a_matched_stop_string_or_a_long_completion_is_not_suspected():
    engine = OpenAIEngine(base_url="http://127.0.0.1:9/v1", model="m", max_retries=0)
    try:
        body = {
            "choices": [
                {
                    "index": 0,
                    "message": {"content": "x"},
                    "finish_reason": "stop",
                    "stop_reason": "\\clearpage",
                }
            ],
            "usage": {"completion_tokens": 3},
        }
        comps, _ = parse_response(body)
        assert ignored_eos_note(body, comps, 100, engine.base_url) is None
        body["choices"][0]["stop_reason"] = None  # vLLM: EOS
        assert "ignore_eos" in ignored_eos_note(body, comps, 100, engine.base_url)
        body["usage"]["completion_tokens"] = 90  # close to max_tokens: not "well short"
        assert ignored_eos_note(body, *parse_response(body)[:1], 100, engine.base_url) is None
    finally:
        engine.close()


class NotingEngine(FakeEngine):
    """Scripted engine whose results carry an engine warning (orchestration only)."""

    def _generate_one(self, request: ChatRequest) -> GenerationResult:
        res = super()._generate_one(request)
        res.warnings = ["engine: the server does not honour ignore_eos"]
        return res


def test_the_warning_reaches_the_papers_and_the_summary_once(tmp_path, capsys):
    from cycleresearcher.app.generate import GenerateResult
    from cycleresearcher.cli._research_run import show_generate
    from cycleresearcher.research import CycleResearcher, ResearchSettings

    bib = tmp_path / "refs.bib"
    bib.write_text("@article{a,\n  title={A},\n  abstract={We study attention.}\n}\n")
    researcher = CycleResearcher(engine=NotingEngine("Some text."), run_dir=tmp_path / "run")
    papers = researcher.generate([bib], ResearchSettings(n=2, max_tokens=50))
    researcher.close()
    assert all("engine: the server does not honour ignore_eos" in p.warnings for p in papers)
    written = [
        {"id": p.id, "title": p.title, "warnings": len(p.warnings), "pdf": None, "paper_warnings": p.warnings}
        for p in papers
    ]
    show_generate(GenerateResult(tmp_path / "run", False, written=written))
    err = capsys.readouterr().err
    assert err.count("does not honour ignore_eos") == 1
