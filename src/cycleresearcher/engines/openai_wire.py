"""The JSON of OpenAI-compatible chat servers, as pure functions: server URLs, the request body
built from a ``ChatRequest``'s messages and sampling (with the fields each server family reads for
a grammar, ``ignore_eos`` and repetition penalties), and the response body read back into
``Completion`` records; a streamed answer (server-sent events) is added up into the same body by
``StreamAssembler``. No I/O here: ``openai_compat`` sends and retries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import InputError
from .base import Completion, Message, SamplingParams


def normalize_base_url(url: str) -> str:
    """``http://host:8000`` -> ``http://host:8000/v1``; a URL with a path is kept as given."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise InputError(f"Not a server URL: '{url}'. Pass e.g. --base-url http://127.0.0.1:8000/v1")
    if parts.path in ("", "/"):
        url += "/v1"
    return url


def redact_url(url: str) -> str:
    """The URL without user:password (safe to store in a run record)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def build_payload(
    messages: Sequence[Message],
    sampling: SamplingParams,
    model: str,
    *,
    n: int | None = None,
    seed: int | None = None,
    ignore_eos_field: str | None = "ignore_eos",
    max_tokens_field: str = "max_tokens",
    extra_body: dict[str, Any] | None = None,
    grammar_field: str | None = "grammar",
) -> dict[str, Any]:
    """The JSON body of one ``/chat/completions`` call (``n`` and ``seed`` override the sampling's).

    ``grammar_field`` says where a GBNF grammar goes (see ``GRAMMAR_FIELDS``)."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        max_tokens_field: sampling.max_tokens,
        "n": sampling.n if n is None else n,
    }
    if sampling.stop:
        payload["stop"] = list(sampling.stop)
    seed = sampling.seed if seed is None else seed
    if seed is not None:
        payload["seed"] = seed
    if sampling.ignore_eos and ignore_eos_field:
        # not part of the OpenAI API; vLLM and SGLang read it, most others ignore unknown fields
        payload[ignore_eos_field] = True
    if sampling.repeat_penalty != 1.0:
        payload["repeat_penalty"] = sampling.repeat_penalty  # llama.cpp server; vLLM: repetition_penalty
        payload["repetition_penalty"] = sampling.repeat_penalty
        if sampling.repeat_last_n != 64:
            payload["repeat_last_n"] = sampling.repeat_last_n  # llama.cpp server's penalty window
    if sampling.grammar:
        payload.update(grammar_body(sampling.grammar, grammar_field))
    if extra_body:
        payload.update(extra_body)
    return payload


#: where each server family reads a GBNF grammar in a chat-completions body
GRAMMAR_FIELDS = {
    "grammar": "llama.cpp server (llama-server, llama_cpp.server): top-level 'grammar'",
    "structured_outputs": "vLLM serve >= 0.10: 'structured_outputs': {'grammar': ...}",
    "guided_grammar": "vLLM serve before 0.10: top-level 'guided_grammar'",
    "ebnf": "SGLang: top-level 'ebnf'",
}


def grammar_body(grammar: str, field: str | None) -> dict[str, Any]:
    """The body fields carrying ``grammar`` for a server family (``GRAMMAR_FIELDS``)."""
    if field is None or field == "none":
        raise InputError(
            "This server was configured with grammar_field=none, so --constrain cannot be honoured. "
            f"Pass --engine-opt grammar_field=NAME with one of: {', '.join(GRAMMAR_FIELDS)}; or --no-constrain."
        )
    if field == "structured_outputs":
        return {"structured_outputs": {"grammar": grammar}}
    if field in GRAMMAR_FIELDS:
        return {field: grammar}
    raise InputError(f"Unknown grammar_field '{field}'. Use one of: {', '.join(GRAMMAR_FIELDS)}, none.")


def _split_tokens(total: int | None, texts: Sequence[str]) -> list[int | None]:
    """Share a usage total over choices in proportion to their length (servers report one total)."""
    if total is None:
        return [None] * len(texts)
    if len(texts) == 1:
        return [total]
    weights = [max(1, len(t)) for t in texts]
    shares = [total * w // sum(weights) for w in weights]
    shares[0] += total - sum(shares)
    return shares


def parse_response(body: Any) -> tuple[list[Completion], int | None]:
    """``(completions in choice order, prompt_tokens)`` from a chat-completions response body.

    Raises ``ValueError`` on a body that is not a chat completion (an error object, HTML, ...)."""
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    if body.get("error"):
        raise ValueError(f"server error: {error_message(body)}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ValueError("response has no choices")
    choices = sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)
    texts: list[str] = []
    reasons: list[str | None] = []
    for choice in choices:
        message = choice.get("message") or {}
        content = message.get("content")
        if content is None:
            content = choice.get("text") or ""  # some servers answer in the completions shape
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        texts.append(content)
        reasons.append(choice.get("finish_reason"))
    usage = body.get("usage") or {}
    tokens = _split_tokens(usage.get("completion_tokens"), texts)
    comps = [
        Completion(text=t, finish_reason=r, completion_tokens=k)
        for t, r, k in zip(texts, reasons, tokens, strict=True)
    ]
    return comps, usage.get("prompt_tokens")


#: more characters a token than any tokenizer in use averages (runs of spaces or dashes are the
#: longest tokens, a few dozen characters): text past ``max_tokens`` times this was not sampled
#: under that limit
MAX_CHARS_PER_TOKEN = 128


def oversized_note(comps: Sequence[Completion], max_tokens: int) -> str | None:
    """Why a reply cannot be ``max_tokens`` of generated text (a server that ignores the limit or
    sends filler), or None; such a reply is a failure, not a result."""
    limit = max_tokens * MAX_CHARS_PER_TOKEN
    for k, comp in enumerate(comps):
        if len(comp.text) > limit:
            return (
                f"the server returned {len(comp.text):,} characters in answer {k} for at most "
                f"{max_tokens:,} tokens (no tokenizer makes more than {MAX_CHARS_PER_TOKEN} characters "
                "a token): it ignored max_tokens or sent filler; nothing of it is kept. Check the server."
            )
    return None


def error_message(body: Any) -> str:
    """The human part of an error body (OpenAI ``{"error": {"message"}}``, FastAPI ``{"detail"}``, text)."""
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body))
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err)
    return str(body)[:500]


def streaming(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` asking for a streamed answer with the usage in its last chunk (OpenAI, vLLM,
    SGLang; servers that do not know ``stream_options`` ignore it)."""
    return {**payload, "stream": True, "stream_options": {"include_usage": True}}


class StreamAssembler:
    """Adds the chunks of a streamed chat completion (``data: {...}`` lines, ``data: [DONE]``)
    up into the body a non-streamed call returns, so ``parse_response`` reads both alike.

    ``tokens`` is the completion tokens so far: the server's usage once it sent one, else the
    number of content pieces (vLLM and llama.cpp send one token per chunk)."""

    def __init__(self) -> None:
        self.texts: dict[int, list[str]] = {}
        self.reasons: dict[int, str | None] = {}
        self.stop_reasons: dict[int, Any] = {}
        self.usage: dict[str, Any] | None = None
        self.pieces = 0
        self.done = False

    def feed(self, line: str) -> bool:
        """Read one line; True when it brought new text. Raises ``ValueError`` on a broken chunk."""
        line = line.strip()
        if not line.startswith("data:"):
            return False  # blank separators, comments (": ping"), event names
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            self.done = True
            return False
        chunk = json.loads(data)
        if not isinstance(chunk, dict):
            raise ValueError(f"expected a JSON object per chunk, got {type(chunk).__name__}")
        if chunk.get("error"):
            raise ValueError(f"server error: {error_message(chunk)}")
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        grew = False
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            delta = choice.get("delta") or {}
            piece = delta.get("content") if isinstance(delta, dict) else None
            if piece is None:
                piece = choice.get("text")  # the completions shape
            self.texts.setdefault(index, [])
            if piece:
                self.texts[index].append(piece)
                self.pieces += 1
                grew = True
            if choice.get("finish_reason"):
                self.reasons[index] = choice["finish_reason"]
            if "stop_reason" in choice:
                self.stop_reasons[index] = choice["stop_reason"]
        return grew

    @property
    def tokens(self) -> int:
        if self.usage and isinstance(self.usage.get("completion_tokens"), int):
            return int(self.usage["completion_tokens"])
        return self.pieces

    def body(self) -> dict[str, Any]:
        """The chat-completions body these chunks add up to."""
        choices = []
        for index in sorted(self.texts):
            choice: dict[str, Any] = {
                "index": index,
                "message": {"role": "assistant", "content": "".join(self.texts[index])},
                "finish_reason": self.reasons.get(index),
            }
            if index in self.stop_reasons:
                choice["stop_reason"] = self.stop_reasons[index]
            choices.append(choice)
        usage = dict(self.usage or {})
        if "completion_tokens" not in usage and self.pieces:
            usage["completion_tokens"] = self.pieces  # a count of chunks where the server gave none
        return {"choices": choices, "usage": usage}


#: put in each affected result, and printed once per engine, when a constrained completion does not
#: follow its grammar: servers drop request fields they do not know without a word
GRAMMAR_IGNORED_WARNING = (
    "engine: the server at {url} returned text that does not follow the grammar: it probably ignores "
    "the `{field}` request field; servers known to support it: {servers}. Choose the field the server "
    "reads with --engine-opt grammar_field=NAME ({fields}), or pass --no-constrain."
)

#: the servers that read each grammar field (GRAMMAR_FIELDS says where each puts the grammar)
GRAMMAR_SERVERS = {
    "grammar": "llama.cpp's llama-server, llama_cpp.server",
    "structured_outputs": "vLLM serve >= 0.10",
    "guided_grammar": "vLLM serve before 0.10",
    "ebnf": "SGLang",
}

#: put in each affected result, and printed once per engine, when a server refused the request
#: field of a grammar that the auto default chose (an explicit --constrain fails instead)
GRAMMAR_REFUSED_WARNING = (
    "engine: the server at {url} refused the `{field}` request field ({problem}), so this run "
    "generates without a grammar. Structure is not guaranteed: choose the field the server reads with "
    "--engine-opt grammar_field=NAME ({fields}), or pass --no-constrain to stop asking."
)


def grammar_refused_note(base_url: str, field: str, problem: str) -> str:
    return GRAMMAR_REFUSED_WARNING.format(
        url=redact_url(base_url), field=field, problem=problem[:200], fields=", ".join(GRAMMAR_FIELDS)
    )


def grammar_ignored_note(base_url: str, field: str) -> str:
    """What a run says when a server returned text that breaks the grammar it was sent."""
    return GRAMMAR_IGNORED_WARNING.format(
        url=redact_url(base_url),
        field=field,
        servers=GRAMMAR_SERVERS.get(field, "unknown"),
        fields=", ".join(GRAMMAR_FIELDS),
    )


#: put in each affected result (and said once in a command's summary) when a server stopped at EOS
#: although ignore_eos was asked: llama_cpp.server, Ollama and hosted APIs drop the field silently
IGNORE_EOS_WARNING = (
    "engine: the server at {url} stopped at the end-of-sequence token well short of max_tokens "
    "although ignore_eos was asked: it does not honour ignore_eos (llama_cpp.server, Ollama and "
    "most hosted APIs ignore it), so text the model writes after EOS (e.g. its results turn) is missing. "
    "Serve the model with vLLM or SGLang, or use --two-stage."
)


def ignored_eos_note(
    body: dict[str, Any], comps: list[Completion], max_tokens: int, base_url: str
) -> str | None:
    """Note a stop at EOS well short of max_tokens: "stop" that no stop string explains (vLLM
    names the matched string in ``stop_reason``; servers that say nothing are suspected only
    when the completion is shorter than half of max_tokens)."""
    choices = sorted(
        (c for c in body.get("choices", []) if isinstance(c, dict)), key=lambda c: c.get("index", 0)
    )
    for choice, comp in zip(choices, comps, strict=False):
        tokens = comp.completion_tokens
        if comp.finish_reason != "stop" or isinstance(choice.get("stop_reason"), str):
            continue
        if tokens is None or tokens >= max_tokens // 2:
            continue
        return IGNORE_EOS_WARNING.format(url=redact_url(base_url))
    return None
