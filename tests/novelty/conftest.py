"""Fixtures of the novelty tests (the corpus itself is in novelty_corpus.py, our own words)."""

from __future__ import annotations

from pathlib import Path

import pytest
from novelty_corpus import bib_text


@pytest.fixture()
def corpus_bib(tmp_path: Path) -> Path:
    path = tmp_path / "library.bib"
    path.write_text(bib_text(), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_user_cache(monkeypatch, tmp_path):
    """The user's own scholarly answer cache never takes part in a test (the check reads it)."""
    monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_CACHE", str(tmp_path / "no-such-cache.sqlite"))
