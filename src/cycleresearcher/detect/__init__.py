"""Fast-DetectGPT detection of machine-written papers (FORMATS.md §4).

criterion.py (the formula on logits and the forward passes: the package's only torch code),
windows.py (full-length rule), scorers.py (transformers / llama.cpp runtimes), calibration.py
(criterion -> probability), api.py (AIDetector). The published formula done naively, the oracle
of the tests and the benchmark, is test code (tests/support/naive_detector.py). No torch at import
time.
"""

from __future__ import annotations

from .api import MIN_TOKENS, PAPER_KINDS, PAPER_TOKENS, AIDetector, Detection, is_paper_length
from .calibration import (
    MIN_PER_CLASS,
    Calibration,
    build_calibration,
    confidence_level,
    cross_validate,
    window_probability,
)
from .criterion import Stats, token_stats
from .windows import Window, plan_windows

__all__ = [
    "AIDetector",
    "Calibration",
    "Detection",
    "MIN_PER_CLASS",
    "MIN_TOKENS",
    "PAPER_KINDS",
    "PAPER_TOKENS",
    "Stats",
    "Window",
    "build_calibration",
    "confidence_level",
    "cross_validate",
    "is_paper_length",
    "plan_windows",
    "token_stats",
    "window_probability",
]
