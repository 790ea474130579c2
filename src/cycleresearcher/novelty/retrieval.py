"""Retrieval: rank works against a subject lexically (BM25) and by meaning (the embedded
all-MiniLM-L6-v2), fuse the two rankings (reciprocal rank fusion), and measure each work's
similarity with the calibrated measure.

- BM25 (``bm25s``) ranks on the words the idea and a work share, which catches named methods
  and datasets; the embedding ranks on meaning, which catches paraphrase. Fusion by reciprocal
  rank (``1 / (RRF_K + rank)`` summed) needs no score scaling between the two.
- The similarity shown and compared with the threshold is the cosine of the embeddings (the
  best over the subject's query texts: motivation, idea, title, abstract, each cut in chunks
  the model reads whole). Without the ``retrieval`` extra the measure is the TF-IDF cosine, with
  its own calibrated threshold (``verdict.THRESHOLDS``).
- For the works kept, the sentence pairs (subject sentence, work sentence) with the highest
  similarity say what overlaps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .records import Match, Overlap, Work

#: the reciprocal-rank-fusion constant of Cormack et al. (2009)
RRF_K = 60
#: words per query chunk: all-MiniLM-L6-v2 reads 256 word pieces, about 180 English words
CHUNK_WORDS = 180
EMBEDDING = "embedding cosine (all-MiniLM-L6-v2)"
LEXICAL = "tf-idf cosine"


@dataclass
class Ranking:
    """Every work's similarity (the calibrated measure) and the fused order of the works."""

    similarity: np.ndarray
    order: list[int]
    lexical_rank: dict[int, int]
    embedding_rank: dict[int, int]
    measure: str


def chunks(texts: list[str], words: int = CHUNK_WORDS) -> list[str]:
    out = []
    for text in texts:
        tokens = text.split()
        out += [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]
    return [c for c in out if c.strip()]


def sentences(text: str) -> list[str]:
    parts = [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\\(])", text) if s.strip()]
    return [s for s in parts if len(s) > 25] or ([text.strip()] if text.strip() else [])


#: BM25 tokens per text: a corpus checked against many papers is tokenised once (bounded)
_TOKENS: dict[str, list[str]] = {}
_TOKENS_MAX = 200_000


def _tokens(texts: list[str]) -> list[list[str]]:
    import bm25s

    todo = list(dict.fromkeys(t for t in texts if t not in _TOKENS))
    if todo:
        if len(_TOKENS) + len(todo) > _TOKENS_MAX:
            _TOKENS.clear()
        found = bm25s.tokenize(todo, stopwords="en", return_ids=False, show_progress=False)
        _TOKENS.update(zip(todo, found, strict=True))
    return [_TOKENS[t] for t in texts]


def bm25_scores(queries: list[str], docs: list[str]) -> np.ndarray:
    """BM25 (Lucene variant, bm25s defaults) of the joined queries against every document."""
    import bm25s

    corpus = _tokens(docs)
    index = bm25s.BM25()
    index.index(corpus, show_progress=False)
    vocab = {t for doc in corpus for t in doc}
    said = bm25s.tokenize([" ".join(queries)], stopwords="en", return_ids=False, show_progress=False)[0]
    query = [t for t in said if t in vocab]
    if not query:
        return np.zeros(len(docs))
    return np.asarray(index.get_scores(query), dtype=float)


def tfidf_similarity(queries: list[str], docs: list[str]) -> np.ndarray:
    """The best TF-IDF cosine of any query chunk with each document (fitted on both)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    parts = chunks(queries)
    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(docs + parts)
    return cosine_similarity(vec.transform(parts), vec.transform(docs)).max(axis=0)


class Embedder:
    """The embedded MiniLM (one loaded copy per process, shared with the reviewer's retriever).
    Encodings are kept by text: a corpus checked against many papers is encoded once."""

    def __init__(self) -> None:
        from ..review.retrieval import _embedding_model

        self.model = _embedding_model()
        self._seen: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if todo:
            vectors = self.model.encode(todo, normalize_embeddings=True, convert_to_numpy=True, batch_size=32)
            self._seen.update(zip(todo, vectors, strict=True))
        return np.stack([self._seen[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    def similarity(self, queries: list[str], docs: list[str]) -> np.ndarray:
        q = self.encode(chunks(queries))
        return (q @ self.encode(docs).T).max(axis=0)


def rank(queries: list[str], works: list[Work], embedder: Embedder | None) -> Ranking:
    docs = [w.text for w in works]
    lexical = bm25_scores(queries, docs)
    lex_order = [int(i) for i in np.argsort(-lexical, kind="stable")]
    lex_rank = {i: r + 1 for r, i in enumerate(lex_order)}
    if embedder is not None:
        similarity, measure = embedder.similarity(queries, docs), EMBEDDING
        emb_order = [int(i) for i in np.argsort(-similarity, kind="stable")]
        emb_rank = {i: r + 1 for r, i in enumerate(emb_order)}
    else:
        similarity, measure, emb_rank = tfidf_similarity(queries, docs), LEXICAL, {}
    fused = {
        i: 1 / (RRF_K + lex_rank[i]) + (1 / (RRF_K + emb_rank[i]) if emb_rank else 0)
        for i in range(len(docs))
    }
    order = sorted(fused, key=lambda i: (-fused[i], -similarity[i]))
    return Ranking(np.asarray(similarity, dtype=float), order, lex_rank, emb_rank, measure)


def overlaps(queries: list[str], work: Work, embedder: Embedder | None, keep: int = 2) -> list[Overlap]:
    """The ``keep`` pairs of (subject sentence, work sentence) that are most alike."""
    q_sent = [s for q in queries for s in sentences(q)]
    w_sent = sentences(work.abstract or work.title)
    if not q_sent or not w_sent:
        return []
    if embedder is not None:
        q, w = embedder.encode(q_sent), embedder.encode(w_sent)
        sims = q @ w.T
    else:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.metrics.pairwise import cosine_similarity

        vec = TfidfVectorizer(stop_words="english").fit(q_sent + w_sent)
        sims = cosine_similarity(vec.transform(q_sent), vec.transform(w_sent))
    out, used = [], set()
    for flat in np.argsort(-sims, axis=None):
        qi, wi = divmod(int(flat), sims.shape[1])
        if wi in used:
            continue
        used.add(wi)
        out.append(Overlap(q_sent[qi], w_sent[wi], float(sims[qi, wi])))
        if len(out) == keep:
            break
    return out


def nearest(
    queries: list[str], works: list[Work], k: int, embedder: Embedder | None
) -> tuple[list[Match], Ranking]:
    """The ``k`` works first in the fused order, plus the most similar work when fusion ranked it
    lower (the verdict is about it, so the matrix must show it)."""
    ranking = rank(queries, works, embedder)
    chosen = ranking.order[:k]
    best = int(np.argmax(ranking.similarity))
    if best not in chosen:
        chosen.append(best)
    matches = [
        Match(
            works[i],
            float(ranking.similarity[i]),
            ranking.order.index(i) + 1,
            ranking.lexical_rank.get(i),
            ranking.embedding_rank.get(i),
            overlaps(queries, works[i], embedder),
        )
        for i in chosen
    ]
    return matches, ranking


__all__ = [
    "EMBEDDING",
    "LEXICAL",
    "RRF_K",
    "Embedder",
    "Ranking",
    "bm25_scores",
    "nearest",
    "rank",
    "sentences",
]
