"""A small corpus in our own words (six works on distinct topics) and two ideas, for the novelty tests."""

from __future__ import annotations

from pathlib import Path

import pytest

WORKS = {
    "kvcache": (
        "Compressing the key-value cache of transformer decoders",
        "2023",
        "Long contexts make the key-value cache of transformer decoders the main memory cost at inference. "
        "We quantise cached keys and values to four bits per channel and evict tokens whose attention mass "
        "stays low, which cuts the cache memory by a factor of six with little loss in perplexity.",
    ),
    "soil": (
        "Irrigation scheduling from soil moisture probes",
        "2019",
        "Capacitive probes buried at three depths measure soil moisture every hour. A water balance model "
        "fitted to these readings forecasts when each field falls below its refill point and schedules "
        "irrigation, saving a fifth of the water in two growing seasons.",
    ),
    "reef": (
        "Listening to coral reefs",
        "2021",
        "Hydrophones record reef soundscapes at dawn and dusk. Counting fish calls and snapping shrimp "
        "clicks gives an index that tracks coral cover measured by divers across twelve reefs.",
    ),
    "graphs": (
        "Message passing networks for molecules",
        "2017",
        "Atoms are nodes and bonds are edges; learned messages passed along bonds predict quantum chemical "
        "properties of small organic molecules close to the accuracy of density functional theory.",
    ),
    "ranking": (
        "Learning to rank with pairwise losses",
        "2010",
        "Search results are ordered by a scoring function trained on pairs of documents where one is "
        "preferred over the other, optimising a smooth surrogate of ranking metrics.",
    ),
    "speech": (
        "Separating overlapping speakers in meetings",
        "2020",
        "A time-domain network trained with a permutation invariant loss separates two or three voices "
        "that talk at the same time in meeting recordings.",
    ),
}

#: an idea that restates the first work (the same problem and method, other words in places)
CLOSE_IDEA = (
    "The key-value cache of transformer decoders is the main memory cost with long contexts. We propose to "
    "quantise the cached keys and values to four bits per channel and to evict the tokens that receive little "
    "attention mass, cutting cache memory several times with little perplexity loss."
)
#: an idea that none of the works does
FAR_IDEA = (
    "Date medieval parchment charters from the Raman spectra of their iron-gall inks, calibrated on "
    "documents whose dates are known from their seals."
)


def bib_text(keys: list[str] | None = None) -> str:
    out = []
    for key in keys or list(WORKS):
        title, year, abstract = WORKS[key]
        out.append(
            f"@article{{{key},\n  title={{{title}}},\n  year={{{year}}},\n  abstract={{{abstract}}}\n}}\n"
        )
    return "\n".join(out)


# -- fixtures (imported by each test module: a nested conftest.py would shadow tests/conftest.py
# for the modules that import helpers from it) ------------------------------------------------

@pytest.fixture()
def corpus_bib(tmp_path: Path) -> Path:
    path = tmp_path / "library.bib"
    path.write_text(bib_text(), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_user_cache(monkeypatch, tmp_path):
    """The user's own scholarly answer cache never takes part in a test (the check reads it)."""
    monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_CACHE", str(tmp_path / "no-such-cache.sqlite"))
