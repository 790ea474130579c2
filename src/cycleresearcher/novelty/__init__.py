"""The novelty check: is there close prior work to a paper's idea among the works searched?

    records.py    Work, Subject, Match, Overlap, JudgeAnswer, NoveltyReport
    subjects.py   what is checked: a run's papers, paper files, training records, a bare idea
    sources.py    where it looks: the paper's references, the user's corpus (.bib, JSON, PDFs, LaTeX)
    online.py     --online: the scholarly services' search behind ``SearchClient``
    retrieval.py  BM25 + MiniLM embeddings fused by reciprocal rank; similarity; overlapping sentences
    verdict.py    the calibrated thresholds and the only two statements the check makes
    judge.py      the optional model judge (prompt, decision rule), shown beside the evidence
    check.py      one subject end to end (``NoveltyChecker``)
    report.py     the Markdown section (novelty.md, paper.md)

The verdict never says an idea is new: it says which close work was found, or that none was found
among the N works searched, naming the sources.
"""

from __future__ import annotations

from .check import CheckSettings, NoveltyChecker, check_novelty
from .records import JudgeAnswer, Match, NoveltyReport, Overlap, Subject, Work
from .verdict import THRESHOLDS

__all__ = [
    "THRESHOLDS",
    "CheckSettings",
    "JudgeAnswer",
    "Match",
    "NoveltyChecker",
    "NoveltyReport",
    "Overlap",
    "Subject",
    "Work",
    "check_novelty",
]
