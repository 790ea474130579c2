"""Fitting references to a context budget: drop the least relevant (TF-IDF) until the prompt fits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import ContextLengthError
from .record import FitResult, Reference, ReferenceSet


def relevance_scores(refs: Sequence[Reference], topic: str | None = None) -> list[float]:
    """TF-IDF cosine of each reference (title + abstract) to the topic, or to the centroid of the
    set when there is no topic. All zeros when the texts share no words."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    docs = [f"{r.title} {r.abstract or ''}".strip() or r.key for r in refs]
    try:
        vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        matrix = vectorizer.fit_transform(docs + ([topic] if topic else []))
    except ValueError:  # empty vocabulary: nothing to rank by
        return [0.0] * len(refs)
    if topic:
        query = matrix[len(docs) :]
        matrix = matrix[: len(docs)]
    else:
        query = matrix.mean(axis=0)
        query = query.A if hasattr(query, "A") else query
    return [float(s) for s in cosine_similarity(matrix, query).ravel()]


def fit_references(
    refs: ReferenceSet | Sequence[Reference],
    count_tokens: Callable[[list[Reference]], int],
    budget: int,
    topic: str | None = None,
) -> FitResult:
    """Drop the least relevant references until ``count_tokens(kept) <= budget``.

    ``count_tokens`` measures the whole prompt built from a list of references (so the caller
    decides how: chat template, system prompt, room for the answer). Relevance is TF-IDF cosine to
    ``topic`` (or to the set's centroid); ties drop later references first. The number to drop is
    found by bisection, so ``count_tokens`` runs O(log n) times. Raises ``ContextLengthError`` when
    even the single most relevant reference does not fit.
    """
    items = list(refs)
    total = count_tokens(items)
    if total <= budget:
        return FitResult(kept=items, dropped=[], tokens=total)
    if not items:
        raise ContextLengthError(
            f"The prompt needs {total} tokens even without references (budget {budget}); use a model with a longer context."
        )
    scores = relevance_scores(items, topic)
    # least relevant first; among equals, later ones go first
    order = sorted(range(len(items)), key=lambda i: (scores[i], -i))

    def keep_after_dropping(k: int) -> list[Reference]:
        gone = set(order[:k])
        return [r for i, r in enumerate(items) if i not in gone]

    lo, hi = 1, len(items) - 1  # drop at least one, keep at least one
    best: tuple[int, int] | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        tokens = count_tokens(keep_after_dropping(mid))
        if tokens <= budget:
            best, hi = (mid, tokens), mid - 1
        else:
            lo = mid + 1
    if best is None:
        top = items[order[-1]]
        raise ContextLengthError(
            f"The prompt does not fit the {budget}-token budget even with only the most relevant reference "
            f"('{top.key}'); use a model with a longer context or shorter references."
        )
    k, tokens = best
    return FitResult(
        kept=keep_after_dropping(k),
        dropped=[items[i] for i in order[:k]],
        tokens=tokens,
        scores={items[i].key: scores[i] for i in range(len(items))},
    )
