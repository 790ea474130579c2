"""References: .bib / training-layout blocks / ``.bbl`` / paper-record JSON -> ``Reference`` list ->
the training-layout block the CycleResearcher prompt is made of (FORMATS.md section 1).

Readers: ``bibtex`` (BibTeX and the training layout), ``bbl`` (``thebibliography``),
``records_json`` (paper-record JSON), dispatched by ``load``. Writers: ``render`` (the training
layout) and ``bibexport`` (plain BibTeX). ``fit`` drops the least relevant references to fit a
context budget.
"""

from __future__ import annotations

from .bibexport import to_bibtex
from .fit import fit_references, relevance_scores
from .load import load_reference_sets, load_references, parse_text
from .record import FitResult, Reference, ReferenceSet
from .render import render_references

__all__ = [
    "FitResult",
    "Reference",
    "ReferenceSet",
    "fit_references",
    "load_reference_sets",
    "load_references",
    "parse_text",
    "relevance_scores",
    "render_references",
    "to_bibtex",
]
