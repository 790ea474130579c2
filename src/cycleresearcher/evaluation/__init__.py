"""Evaluation: the papers' tables (paper quality, reviewer accuracy, detection) and the review win
rate, as pure functions over typed records, rendered as rich / Markdown / CSV tables and plots.

Modules: ``records`` (typed inputs), ``loading`` (all file I/O), ``quality``, ``reviewers``,
``detection``, ``winrate`` (metrics), ``tables`` (rendering), ``plots`` (matplotlib).
Nothing heavy is imported here: scipy / scikit-learn / matplotlib load inside the functions.
"""

from __future__ import annotations

from .detection import detection_metrics, detection_row, detection_table
from .quality import paper_quality, quality_table
from .records import DIMENSIONS, HumanPaper, ReviewedPaper, normalize_decision, parse_score
from .reviewers import pairwise_accuracy, reviewer_accuracy, reviewer_table, spearman
from .tables import ResultTable
from .winrate import aggregate, judge, parse_verdicts, plan_pairs, winrate_table

__all__ = [
    "DIMENSIONS",
    "HumanPaper",
    "ResultTable",
    "ReviewedPaper",
    "aggregate",
    "detection_metrics",
    "detection_row",
    "detection_table",
    "judge",
    "normalize_decision",
    "pairwise_accuracy",
    "paper_quality",
    "parse_score",
    "parse_verdicts",
    "plan_pairs",
    "quality_table",
    "reviewer_accuracy",
    "reviewer_table",
    "spearman",
    "winrate_table",
]
