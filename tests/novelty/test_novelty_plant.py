"""The plant check on the training records (skips when CYCLERESEARCHER_FIXTURES is unset): each
record's own abstract, hidden among the other records' reference abstracts, is found from its
motivation + idea, and the calibrated thresholds separate it from the works around it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from novelty_corpus import no_user_cache  # noqa: F401  (fixtures)

from cycleresearcher.novelty.records import Work
from cycleresearcher.novelty.retrieval import EMBEDDING, LEXICAL, Embedder, rank
from cycleresearcher.novelty.subjects import subject_from_record
from cycleresearcher.novelty.verdict import THRESHOLDS


def _records(fixtures_dir):
    paths = sorted((fixtures_dir / "research").glob("conversation_*.json"))
    assert paths, f"no training records under {fixtures_dir}/research"
    return [subject_from_record(json.loads(p.read_text(encoding="utf-8")), p.name) for p in paths]


def _plant(records, embedder):
    ranks, planted, rest = [], [], []
    for subject in records:
        assert subject.motivation and subject.idea, (
            f"turn 3 of {subject.label} parsed without motivation/idea"
        )
        others = [w for r in records if r is not subject for w in r.references if w.abstract]
        haystack = [Work(subject.title, subject.abstract), *others]
        ranking = rank([subject.motivation, subject.idea], haystack, embedder)
        ranks.append(ranking.order.index(0) + 1)
        planted.append(float(ranking.similarity[0]))
        rest.append(float(np.max(ranking.similarity[1:])))
    return ranks, planted, rest


def _check(ranks, planted, rest, threshold):
    recall5 = sum(r <= 5 for r in ranks) / len(ranks)
    assert recall5 >= 0.9, f"recall@5 {recall5:.2f} (ranks {ranks})"
    assert sum(p >= threshold for p in planted) / len(planted) >= 0.8, (planted, threshold)
    assert max(rest) < threshold, f"an unrelated reference abstract reached {max(rest):.3f} >= {threshold}"


def test_plant_lexical(fixtures_dir):
    ranks, planted, rest = _plant(_records(fixtures_dir), None)
    _check(ranks, planted, rest, THRESHOLDS[LEXICAL])


@pytest.mark.slow
def test_plant_embeddings(fixtures_dir):
    pytest.importorskip("sentence_transformers")
    ranks, planted, rest = _plant(_records(fixtures_dir), Embedder())
    _check(ranks, planted, rest, THRESHOLDS[EMBEDDING])
