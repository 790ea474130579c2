"""Retrieval backends for DeepReviewer's Best mode: a real OpenScholar-style HTTP server on
127.0.0.1, the offline MiniLM retriever (slow: loads the embedded model), and NoRetriever."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cycleresearcher.errors import InputError
from cycleresearcher.review.retrieval import (
    NO_INFORMATION,
    LocalRetriever,
    NoRetriever,
    OpenScholarRetriever,
    Passage,
    RetrievalError,
    RetrievalResult,
    make_retriever,
)


class _Service:
    """A tiny OpenScholar-style service: POST /batch_ask answers every question."""

    def __init__(self, mode: str = "ok"):
        self.mode = mode
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.received.append({"path": self.path, "body": body})
                if self.path != "/batch_ask" or outer.mode == "500":
                    self.send_response(500 if outer.mode == "500" else 404)
                    self.end_headers()
                    return
                qs = body["questions"]
                if outer.mode == "short":
                    qs = qs[:-1]
                if outer.mode == "list":
                    results = [
                        {
                            "output": f"A{i}",
                            "final_passages": [{"title": "T", "text": "x"}, {"title": "U", "text": "y"}],
                        }
                        for i, _ in enumerate(qs)
                    ]
                else:
                    results = [
                        {
                            "output": f"Answer to: {q}",
                            "final_passages": f"[0] Title: Paper {i} Text: about {q}",
                            "total_cost": 0,
                        }
                        for i, q in enumerate(qs)
                    ]
                data = json.dumps({"results": results}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_openscholar_retriever_posts_batch_ask_and_reads_results():
    with _Service() as svc:
        questions = ["What is routing?", "What is hashing?"]
        for url in (svc.url, svc.url + "/", svc.url + "/batch_ask"):
            results = OpenScholarRetriever(url).ask(questions)
            assert [r.output for r in results] == [
                "Answer to: What is routing?",
                "Answer to: What is hashing?",
            ]
            assert results[1].passages == "[0] Title: Paper 1 Text: about What is hashing?"
            assert results[0].extra == {"total_cost": 0}
        assert {r["path"] for r in svc.received} == {"/batch_ask"}
        assert svc.received[0]["body"] == {"questions": questions}
        assert OpenScholarRetriever(svc.url).ask([]) == []


def test_openscholar_passage_lists_are_rendered_in_the_service_layout():
    with _Service("list") as svc:
        r = OpenScholarRetriever(svc.url).ask(["q"])[0]
    assert r.passages == "[0] Title: T Text: x\n[1] Title: U Text: y"


@pytest.mark.parametrize("mode", ["500", "short"])
def test_openscholar_failures_raise_retrieval_error(mode):
    with _Service(mode) as svc, pytest.raises(RetrievalError, match="batch_ask"):
        OpenScholarRetriever(svc.url).ask(["a", "b"])


def test_openscholar_unreachable_raises_retrieval_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RetrievalError, match="failed"):
        OpenScholarRetriever(f"http://127.0.0.1:{port}", timeout=5).ask(["a"])


def test_no_retriever_and_factory():
    assert NoRetriever().ask(["a", "b"]) == [RetrievalResult(NO_INFORMATION, NO_INFORMATION)] * 2
    assert isinstance(make_retriever(None), LocalRetriever) and isinstance(
        make_retriever("none"), NoRetriever
    )
    assert make_retriever("http://127.0.0.1:1/batch_ask").url == "http://127.0.0.1:1/batch_ask"
    with pytest.raises(InputError, match="local"):
        make_retriever("ftp://x")
    r = RetrievalResult("o", "p", {"k": 1})
    assert RetrievalResult.from_dict(r.to_dict()) == r


def test_local_retriever_builds_passages_from_references_and_text():
    bib = (
        "@article{a, title={Diffusion Models Beat {GANs} on Image Synthesis}, abstract={Diffusion models reach better sample quality than GANs.}}\n"
        "@article{b, title={Mask R-CNN}}\n"
    )
    paper = (
        "\\title{Object Completion}\n\n\\section{Introduction}\nOccluded objects are hard to complete. "
        + "More words here. " * 10
    )
    r = LocalRetriever().for_paper(paper, bib)
    titles = [p.title for p in r.passages]
    assert titles[:2] == ["Diffusion Models Beat GANs on Image Synthesis", "Mask R-CNN"]
    assert "Introduction" in titles and all("\\section" not in p.text for p in r.passages)
    broken = LocalRetriever().for_paper(paper, "@article{broken, title={")  # a broken .bib is skipped
    assert [(p.title, p.text) for p in broken.passages] == [
        (p.title, p.text) for p in LocalRetriever().for_paper(paper, None).passages
    ]
    assert broken.passages and "Introduction" in [p.title for p in broken.passages]
    assert LocalRetriever([]).ask(["q"])[0].output == NO_INFORMATION


@pytest.mark.slow
def test_local_retriever_ranks_with_the_embedded_minilm():
    passages = [
        Passage(
            "Diffusion Models Beat GANs",
            "Diffusion models achieve image sample quality superior to generative adversarial networks.",
        ),
        Passage(
            "Mask R-CNN",
            "A framework for object instance segmentation that predicts a mask for each detected object.",
        ),
        Passage(
            "Adam", "A method for stochastic optimization with adaptive estimates of lower-order moments."
        ),
    ]
    r = LocalRetriever(passages, top_k=2, answer_sentences=1)
    out = r.ask(
        ["Which generative models produce the best image samples?", "How do we segment object instances?"]
    )
    assert out[0].passages.startswith("[0] Title: Diffusion Models Beat GANs Text: ")
    assert out[1].passages.startswith("[0] Title: Mask R-CNN Text: ")
    assert "\n[1] Title: " in out[0].passages and "[2]" not in out[0].passages
    assert "Diffusion models achieve" in out[0].output
    assert out[0].extra["scores"][0] > out[0].extra["scores"][1]
