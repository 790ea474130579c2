"""A loopback OpenAI-compatible server that answers with the released models' REAL outputs.

The embedded 135M stand-in never writes a paper or a review the parsers can read, so the stages
after generation would otherwise only ever be tested on unstructured text. This server speaks what
``--engine openai --base-url`` sends (``GET /v1/models``, ``POST /v1/chat/completions``; a 404 for
``/tokenize``, like servers without it) plus the OpenScholar-style ``POST /batch_ask`` of Best mode,
and answers each request with a real output chosen from the request itself:

* CycleResearcher (the system prompt of the training records): the training record whose references
  block is the request's. A 2-message chat gets the one generation the 12B model writes with EOS
  ignored (assistant turn 3 + the results turn 4 + assistant turn 5, glued as a decoder that skips
  special tokens emits them), cut at the first stop string the request sent, as vLLM does: the
  two-stage stop ``## Experimental_results`` leaves turn 3. A 4-message chat (real results) gets turn 5.
* DeepReviewer (``Your thinking mode is Fast / Standard / Best Mode``): the fixture output of the
  paper whose title is in the user turn (``papers``: the three papers of the ground-truth sample;
  tests add others); Best mode turn 1 gets ``best_step1``, turn 2 ``best``.
* CycleReviewer (``You need to fill out **4** review opinions.``): no raw output is public, so
  these are our own outputs under ``tests/data/replay/`` (format B for the Pro-123B model).

Every request body is recorded (``requests``) so tests can check what a real server receives:
``max_tokens``, ``stop``, ``n``, ``seed``, ``ignore_eos``, grammar fields, the messages. An
unmatched request gets an HTTP 400 whose message says why, so a wrong prompt fails the test loudly.

The fixtures are read at run time from the folder given (``CYCLERESEARCHER_FIXTURES``); nothing of
them is copied into the repository.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "replay"

#: the first sentence of the instruction that closes every CycleResearcher user turn
INSTRUCTION_START = "The above content represents the relevant literature in this field."
TOPIC_START = "Generate a research paper on the topic: "
CYCLEREVIEWER_MARK = "You need to fill out **4** review opinions."
DEEP_MODES = {"fast": "Fast Mode", "standard": "Standard Mode", "best": "Best Mode"}
#: the contexts the released models are served with upstream (vllm serve --max-model-len)
UPSTREAM_MODELS = {
    "WestlakeNLP/CycleResearcher-ML-12B": 60000,
    "WestlakeNLP/CycleReviewer-ML-Llama3.1-8B": 50000,
    "WestlakeNLP/CycleReviewer-ML-Pro-123B": 50000,
    "WestlakeNLP/DeepReviewer-14B": 90000,
}
#: a rough tokens-per-character rate for the usage numbers (the project estimates 3.5 chars/token)
CHARS_PER_TOKEN = 3.5


class NoReplay(Exception):
    """The request matches no recorded output (answered with HTTP 400)."""


def _references_block(user: str) -> str:
    """The references block of a CycleResearcher user turn (topic line and instruction removed).

    The training records glue the block straight onto the instruction; the project puts a blank
    line between them (FORMATS.md): both compare equal here, tests check the exact bytes."""
    cut = user.rfind(INSTRUCTION_START)
    block = user[:cut] if cut >= 0 else user
    if block.startswith(TOPIC_START):
        block = block.split("\n\n", 1)[1] if "\n\n" in block else ""
    return block.strip()


@dataclass
class Record:
    """One training conversation of the 12B model."""

    index: int
    messages: list[dict[str, str]]

    @property
    def block(self) -> str:
        return _references_block(self.messages[1]["content"])

    @property
    def generation(self) -> str:
        """Turns 3, 4 and 5 as one generation with EOS ignored (special tokens skipped)."""
        return "".join(self.messages[i]["content"] for i in (2, 3, 4))

    @property
    def turn5(self) -> str:
        return self.messages[4]["content"]


@dataclass
class Received:
    method: str
    path: str
    body: Any
    status: int = 200
    #: what the server answered with: ("research", 1), ("deepreviewer-fast", 2), ("cyclereviewer", file) ...
    replayed: tuple | None = None


@dataclass
class ReplayServer:
    fixtures: Path
    #: paper title -> fixture number of its DeepReviewer outputs (default: the ground-truth sample)
    papers: dict[str, int] = field(default_factory=dict)
    #: DeepReviewer fixture number for papers whose title is not in ``papers`` (None: HTTP 400)
    default_paper: int | None = None
    #: record number -> the records whose generations answer its prompt, picked by the request's
    #: seed (a policy sampled k times from one prompt); default: the record's own generation
    samples: dict[int, list[int]] = field(default_factory=dict)
    #: substring of the served model name -> our CycleReviewer output file (first match wins)
    cyclereviewer: dict[str, Path] = field(
        default_factory=lambda: {
            "Pro-123B": DATA / "cyclereviewer_123b.txt",
            "": DATA / "cyclereviewer_8b.txt",
        }
    )
    models: dict[str, int] = field(default_factory=lambda: dict(UPSTREAM_MODELS))
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fixtures = Path(self.fixtures)
        self.records = [
            Record(i, json.loads(p.read_text(encoding="utf-8"))["messages"])
            for i, p in enumerate(sorted((self.fixtures / "research").glob("conversation_*.json")), 1)
        ]
        if not self.papers:
            truth = json.loads(
                (self.fixtures / "deepreviewer/deepreview_sample_ground_truth.json").read_text()
            )
            self.papers = {p["title"]: i for i, p in enumerate(truth, 1)}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> ReplayServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:  # quiet test output
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                server._record(Received("GET", self.path, None))
                if self.path.rstrip("/") == "/v1/models":
                    data = [
                        {"id": m, "object": "model", "owned_by": "replay", "max_model_len": ctx}
                        for m, ctx in server.models.items()
                    ]
                    self._send(200, {"object": "list", "data": data})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                rec = server._record(Received("POST", self.path, body))
                try:
                    if self.path == "/v1/chat/completions":
                        status, answer = 200, server.chat(body, rec)
                    elif self.path.rstrip("/") == "/batch_ask":
                        status, answer = 200, server.batch_ask(body, rec)
                    else:  # /tokenize, /v1/completions ...: not what this server replays
                        status, answer = 404, {"error": {"message": f"no route {self.path}"}}
                except NoReplay as exc:
                    status, answer = (
                        400,
                        {"error": {"message": f"replay: {exc}", "type": "invalid_request_error"}},
                    )
                rec.status = status
                self._send(status, answer)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return self.root + "/v1"

    def _record(self, rec: Received) -> Received:
        with self._lock:
            self.requests.append(rec)
        return rec

    # -- what tests read ------------------------------------------------------------------------
    def chats(self, kind: str | None = None) -> list[Received]:
        """Chat-completion requests in arrival order; ``kind`` filters by what was replayed
        (``research``, ``research-turn5``, ``deepreviewer-fast``, ``deepreviewer-best1``, ``cyclereviewer`` ...)."""
        out = [r for r in self.requests if r.path == "/v1/chat/completions"]
        if kind is not None:
            out = [r for r in out if r.replayed and r.replayed[0] == kind]
        return out

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- answers --------------------------------------------------------------------------------
    def chat(self, body: Any, rec: Received) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise NoReplay("the body has no 'messages' list")
        messages = body["messages"]
        system = messages[0]["content"] if messages and messages[0].get("role") == "system" else ""
        if self.records and system == self.records[0].messages[0]["content"]:
            kind, key, text = self._research(messages, body.get("seed"))
        elif "Your thinking mode is " in system:
            kind, key, text = self._deepreviewer(system, messages)
        elif CYCLEREVIEWER_MARK in system:
            kind, key, text = self._cyclereviewer(str(body.get("model", "")))
        else:
            raise NoReplay(f"no recorded model uses this system prompt: {system[:120]!r}")
        rec.replayed = (kind, key)
        n = int(body.get("n") or 1)
        choices, tokens = [], 0
        for i in range(n):
            out, finish, stop_reason = _cut(text, body.get("stop") or [], int(body.get("max_tokens") or 16))
            tokens += _tokens(out)
            choices.append(
                {
                    "index": i,
                    "message": {"role": "assistant", "content": out},
                    "finish_reason": finish,
                    "stop_reason": stop_reason,
                }
            )
        prompt = sum(_tokens(m.get("content", "")) for m in messages)
        return {
            "id": f"replay-{len(self.requests)}",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": choices,
            "usage": {"prompt_tokens": prompt, "completion_tokens": tokens, "total_tokens": prompt + tokens},
        }

    def _record_for(self, user: str) -> Record:
        block = _references_block(user)
        for record in self.records:
            if record.block == block:
                return record
        raise NoReplay(
            "the references block matches no training record (a prompt that differs by one byte is a different prompt)"
        )

    def _research(self, messages: list[dict[str, str]], seed: Any) -> tuple[str, Any, str]:
        record = self._record_for(messages[1]["content"])
        if len(messages) == 2:
            pool = self.samples.get(record.index, [record.index])
            pick = pool[int(seed) % len(pool)] if isinstance(seed, int) else pool[0]
            return "research", pick, self.records[pick - 1].generation
        if len(messages) == 4 and messages[2]["role"] == "assistant" and messages[3]["role"] == "user":
            return "research-turn5", record.index, record.turn5
        raise NoReplay(f"a CycleResearcher chat of {len(messages)} messages has no recorded answer")

    def _paper_number(self, user: str) -> int:
        for title, number in self.papers.items():
            if title in user:
                return number
        if self.default_paper is None:
            raise NoReplay("no DeepReviewer output is recorded for this paper (title not found)")
        return self.default_paper

    def _deepreviewer(self, system: str, messages: list[dict[str, str]]) -> tuple[str, Any, str]:
        mode = next(
            (m for m, words in DEEP_MODES.items() if f"Your thinking mode is {words}." in system), None
        )
        if mode is None:
            raise NoReplay("unknown DeepReviewer mode")
        number = self._paper_number(messages[1]["content"])
        if mode == "best":
            name, kind = ("best_step1", "best1") if len(messages) == 2 else ("best", "best2")
        else:
            name, kind = mode, mode
        path = self.fixtures / "deepreviewer" / f"deepreviewer_{name}_{number:03d}.txt"
        if not path.is_file():
            raise NoReplay(f"no fixture {path.name}")
        return f"deepreviewer-{kind}", number, path.read_text(encoding="utf-8")

    def _cyclereviewer(self, model: str) -> tuple[str, Any, str]:
        for part, path in self.cyclereviewer.items():
            if part in model:
                return "cyclereviewer", path.name, path.read_text(encoding="utf-8")
        raise NoReplay(f"no CycleReviewer output for model {model!r}")

    def batch_ask(self, body: Any, rec: Received) -> dict[str, Any]:
        """The retrieval service of Best mode: the recorded answers to the recorded questions."""
        questions = body.get("questions") if isinstance(body, dict) else None
        if not isinstance(questions, list):
            raise NoReplay("batch_ask needs {'questions': [...]}")
        for meta_path in sorted((self.fixtures / "deepreviewer").glob("deepreviewer_best_meta_*.json")):
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta["questions"] == questions:
                rec.replayed = ("batch_ask", meta_path.name)
                return {"results": meta["retrieval"]}
        raise NoReplay("these questions were never asked in a recorded Best-mode run")


def _tokens(text: str) -> int:
    return max(1, round(len(text) / CHARS_PER_TOKEN))


def _cut(text: str, stop: list[str], max_tokens: int) -> tuple[str, str, str | None]:
    """What a server returns of a generation: up to the first stop string (excluded, as vLLM and
    the OpenAI API do), or up to ``max_tokens`` (finish_reason "length"), else all of it (EOS)."""
    hits = [(text.find(s), s) for s in stop if s and s in text]
    out, finish, reason = text, "stop", None
    if hits:
        at, reason = min(hits)
        out = text[:at]
    limit = int(max_tokens * CHARS_PER_TOKEN)
    if len(out) > limit:
        return out[:limit], "length", None
    return out, finish, reason
