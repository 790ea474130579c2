"""cycleresearcher: the research <-> review cycle of the CycleResearcher model card (ICLR 2025).

The public names load lazily, so ``import cycleresearcher`` pulls in no torch, llama_cpp, vllm
or trl. Drop-in names of the original package: ``CycleResearcher.generate_paper``,
``CycleReviewer.evaluate``, ``DeepReviewer.evaluate``, ``AIDetector.analyze_paper``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "CycleResearcher": "cycleresearcher.research:CycleResearcher",
    "Paper": "cycleresearcher.paper:Paper",
    "parse_paper": "cycleresearcher.paper:parse_paper",
    "Reference": "cycleresearcher.references:Reference",
    "load_references": "cycleresearcher.references:load_references",
    "CycleReviewer": "cycleresearcher.review.cyclereviewer:CycleReviewer",
    "DeepReviewer": "cycleresearcher.review.deepreviewer:DeepReviewer",
    "Review": "cycleresearcher.review.records:Review",
    "ReviewerOpinion": "cycleresearcher.review.records:ReviewerOpinion",
    "AIDetector": "cycleresearcher.detect:AIDetector",
    "Detection": "cycleresearcher.detect:Detection",
    "RunStore": "cycleresearcher.store:RunStore",
    "create_engine": "cycleresearcher.models.session:create_engine",
    "SamplingParams": "cycleresearcher.engines.base:SamplingParams",
    "ChatRequest": "cycleresearcher.engines.base:ChatRequest",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, _, attr = _LAZY[name].partition(":")
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cycleresearcher' has no attribute {name!r}")
