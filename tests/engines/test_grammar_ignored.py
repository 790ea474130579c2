"""A server that ignores the grammar field is reported: the text is checked against the grammar's
regex (as a prefix: max_tokens may cut it), the note goes into the sample warnings and stderr once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cycleresearcher.engines.base import ChatRequest, SamplingParams
from cycleresearcher.engines.openai_compat import OpenAIEngine
from cycleresearcher.prompts import grammars as S

UNCONSTRAINED = "Sure! Here is a review of the paper.\n\nThe paper is good and I like it a lot."


class GrammarIgnoringServer:
    """An OpenAI-compatible server that reads no grammar field: it answers plain text whatever the
    request asks (as Ollama or a hosted API would), and keeps the bodies it got."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_GET(self) -> None:
                self._send({"data": [{"id": "m"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                outer.bodies.append(body)
                choices = [
                    {"index": k, "message": {"role": "assistant", "content": UNCONSTRAINED}, "finish_reason": "stop"}
                    for k in range(body.get("n", 1))
                ]
                self._send({"choices": choices, "usage": {"prompt_tokens": 5, "completion_tokens": 20}})

            def _send(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ignoring() -> Iterator[GrammarIgnoringServer]:
    srv = GrammarIgnoringServer()
    yield srv
    srv.close()


def test_follows_checks_a_prefix_of_the_grammar() -> None:
    node = S.structure("deepreviewer-fast", "bounded", S.TINY)
    gbnf = S.to_gbnf(node)
    text = S.sample(node, 2)
    assert S.follows(gbnf, text) and S.follows(gbnf, text[: len(text) // 3])  # cut at max_tokens
    assert S.follows(gbnf, UNCONSTRAINED) is False
    assert S.follows("root ::= [a-z]+\n", "123") is None  # not one of ours: nothing to check with


def test_a_server_ignoring_the_grammar_is_reported_once(ignoring, capsys) -> None:
    grammar = S.grammar_for("cyclereviewer", "open")
    eng = OpenAIEngine(base_url=ignoring.url, max_retries=0, grammar_field="structured_outputs")
    try:
        chat = [{"role": "user", "content": "Review this."}]
        results = eng.generate(
            [ChatRequest(chat, SamplingParams(max_tokens=64, n=2, grammar=grammar)) for _ in range(3)]
            + [ChatRequest(chat, SamplingParams(max_tokens=64))]
        )
    finally:
        eng.close()
    assert ignoring.bodies[0]["structured_outputs"] == {"grammar": grammar}  # it was asked for
    *constrained, plain = results
    for res in constrained:
        [note] = res.warnings
        assert f"the server at {ignoring.url} returned text that does not follow the grammar" in note
        assert "`structured_outputs` request field" in note and "vLLM serve >= 0.10" in note
    assert plain.warnings == [], "an unconstrained request is not checked"
    assert capsys.readouterr().err.count("does not follow the grammar") == 1


def test_the_note_reaches_the_stored_samples_and_the_papers(ignoring, tmp_path, capsys) -> None:
    from cycleresearcher.research import CycleResearcher, ResearchSettings
    from cycleresearcher.store import RunStore

    bib = tmp_path / "refs.bib"
    bib.write_text("@article{a,\n  title={A},\n  abstract={We study attention.}\n}\n")
    eng = OpenAIEngine(base_url=ignoring.url, max_retries=0)
    researcher = CycleResearcher(engine=eng, run_dir=tmp_path / "run")
    papers = researcher.generate([bib], ResearchSettings(n=2, max_tokens=50, constrain=True))
    researcher.close()
    assert "grammar" in ignoring.bodies[0]
    assert all(any("does not follow the grammar" in w for w in p.warnings) for p in papers)
    with RunStore(tmp_path / "run", create=False) as store:
        [row] = store.request_rows()
        stored = store.get_result(row["key"])
    assert stored is not None and any("does not follow the grammar" in w for w in stored.warnings)
    assert capsys.readouterr().err.count("does not follow the grammar") == 1


@pytest.mark.slow
def test_llama_cpp_server_honours_the_grammar_and_is_not_reported(embedded_gguf: str, capsys) -> None:
    from conftest import llama_server_process

    node = S.structure("deepreviewer-fast", "bounded", S.TINY)
    chat = [{"role": "user", "content": "Review a paper."}]
    with llama_server_process(embedded_gguf) as url:
        eng = OpenAIEngine(base_url=url, grammar_field="grammar", max_retries=0)
        whole, cut = eng.generate(
            [
                ChatRequest(chat, SamplingParams(max_tokens=300, seed=1, grammar=S.to_gbnf(node))),
                ChatRequest(chat, SamplingParams(max_tokens=12, seed=1, grammar=S.to_gbnf(node))),
            ]
        )
        eng.close()
    assert whole.ok and cut.ok, (whole.error, cut.error)
    assert S.matches(node, whole.text), whole.text
    assert cut.completions[0].finish_reason == "length"
    assert whole.warnings == [] and cut.warnings == []
    assert "does not follow the grammar" not in capsys.readouterr().err
