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

    def __init__(self, refuse: str | None = None) -> None:
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
                if refuse and refuse in body:  # as OpenAI's own API answers an unknown argument
                    return self._send(
                        {"error": {"message": f"Unrecognized request argument supplied: {refuse}"}}, 400
                    )
                choices = [
                    {
                        "index": k,
                        "message": {"role": "assistant", "content": UNCONSTRAINED},
                        "finish_reason": "stop",
                    }
                    for k in range(body.get("n", 1))
                ]
                self._send({"choices": choices, "usage": {"prompt_tokens": 5, "completion_tokens": 20}})

            def _send(self, payload: dict, status: int = 200) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ignoring() -> Iterator[GrammarIgnoringServer]:
    srv = GrammarIgnoringServer()
    yield srv
    srv.close()


@pytest.fixture
def refusing() -> Iterator[GrammarIgnoringServer]:
    srv = GrammarIgnoringServer(refuse="grammar")
    yield srv
    srv.close()


def test_a_server_refusing_an_auto_grammar_is_asked_without_it_and_said_once(refusing, capsys) -> None:
    grammar = S.grammar_for("cyclereviewer", "bounded")
    eng = OpenAIEngine(base_url=refusing.url, max_retries=0)
    chat = [{"role": "user", "content": "Review this."}]
    try:
        results = eng.generate(
            [ChatRequest(chat, SamplingParams(max_tokens=64, grammar=grammar, grammar_optional=True))] * 3
        )
    finally:
        eng.close()
    assert all(r.ok and r.text == UNCONSTRAINED for r in results), [r.error for r in results]
    for res in results:  # the refusal is said on each result; the text is not checked against the grammar
        [note] = res.warnings
        assert f"the server at {refusing.url} refused the `grammar` request field" in note
        assert "HTTP 400" in note or "400" in note
    # asked with the grammar until the first refusal, then never again
    with_grammar = [b for b in refusing.bodies if "grammar" in b]
    assert 1 <= len(with_grammar) <= 3 and len(refusing.bodies) == len(with_grammar) + 3
    assert "grammar" not in refusing.bodies[-1]
    assert capsys.readouterr().err.count("refused the `grammar` request field") == 1


def test_an_explicit_grammar_refused_by_the_server_fails_the_request(refusing) -> None:
    eng = OpenAIEngine(base_url=refusing.url, max_retries=0)
    chat = [{"role": "user", "content": "Review this."}]
    try:
        [res] = eng.generate([ChatRequest(chat, SamplingParams(max_tokens=64, grammar='root ::= "x"\n'))])
    finally:
        eng.close()
    assert not res.ok and "400" in (res.error or "") and "Unrecognized request argument" in (res.error or "")


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
    # the grammar fitting asked /tokenize for the fixed text first; the chat request holds the grammar
    chats = [b for b in ignoring.bodies if "max_tokens" in b]
    assert chats and all("grammar" in b for b in chats)
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
