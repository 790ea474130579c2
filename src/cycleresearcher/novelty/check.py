"""The check of one subject: gather the works (its references, the corpus, the enrichment cache,
the services when online), rank them, keep the k nearest, state the verdict, ask the judge."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..engines.base import Engine
from .online import SearchClient, online_works
from .records import NoveltyReport, Subject, Work
from .retrieval import EMBEDDING, LEXICAL, Embedder, nearest
from .verdict import THRESHOLDS, verdict_text

#: works shown in the matrix by default
TOP_K = 5


@dataclass
class CheckSettings:
    top_k: int = TOP_K
    #: None: the calibrated threshold of the measure used
    threshold: float | None = None
    #: False: TF-IDF similarity even when the embedding model is installed (faster; own threshold)
    embeddings: bool = True
    corpus: list[Path] = field(default_factory=list)
    #: search the answers the scholarly clients cached (``references enrich``), when there are any
    cache: bool = True
    clients: list[SearchClient] = field(default_factory=list)
    judge: Engine | None = None


class NoveltyChecker:
    """Checks subjects against the same corpus (read once) with the same model (loaded once)."""

    def __init__(self, settings: CheckSettings | None = None):
        from .sources import corpus_works

        self.settings = settings or CheckSettings()
        self.warnings: list[str] = []
        self.corpus: dict[str, list[Work]] = corpus_works(self.settings.corpus, self.warnings)
        if self.settings.cache:
            from .online import cached_works

            if cached := cached_works():
                self.corpus["cache"] = cached
        self._embedder: Embedder | None = None
        self._embedder_error: str | None = None

    def embedder(self) -> Embedder | None:
        if not self.settings.embeddings or self._embedder_error:
            return None
        if self._embedder is None:
            from ..review.retrieval import RetrievalError

            try:
                self._embedder = Embedder()
            except RetrievalError as exc:  # the retrieval extra is missing: lexical only, said so
                self._embedder_error = str(exc)
        return self._embedder

    def check(self, subject: Subject) -> NoveltyReport:
        from .sources import dedupe

        warnings = list(self.warnings)
        groups: dict[str, list[Work]] = {"references": subject.references, **self.corpus}
        if self.settings.clients:
            groups.update(online_works(subject, self.settings.clients, warnings))
        works, searched = dedupe(groups, subject)
        queries = subject.queries()
        if not queries:
            warnings.append("the subject has no title, abstract, motivation or idea to search with")
        embedder = self.embedder()
        if self._embedder_error:
            warnings.append(f"embeddings unavailable, lexical similarity only: {self._embedder_error}")
        matches, best = [], None
        measure = EMBEDDING if embedder is not None else LEXICAL
        if works and queries:
            matches, ranking = nearest(queries, works, self.settings.top_k, embedder)
            measure = ranking.measure
            best = max(matches, key=lambda m: m.similarity)
        calibrated = self.settings.threshold is None
        threshold = THRESHOLDS[measure] if calibrated else float(self.settings.threshold)  # type: ignore[arg-type]
        text, close = verdict_text(
            best.work.title if best else None,
            best.work.year if best else "",
            best.similarity if best else None,
            threshold,
            searched,
            calibrated,
            len(works),
        )
        report = NoveltyReport(
            subject, matches, text, close, threshold, measure, searched, len(works), warnings
        )
        if self.settings.judge is not None and matches:
            from .judge import judge

            report.judge = judge(self.settings.judge, subject, matches)
        return report


def check_novelty(subject: Subject, settings: CheckSettings | None = None) -> NoveltyReport:
    """One subject, one call (a batch should keep one ``NoveltyChecker``)."""
    return NoveltyChecker(settings).check(subject)


__all__ = ["TOP_K", "CheckSettings", "NoveltyChecker", "check_novelty"]
