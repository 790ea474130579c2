r"""Output structure of every model format, as one description that renders to a GBNF grammar,
to an equivalent Python regex and to random strings.

``algebra`` holds the nodes and their renderings; ``slots`` the per-profile free-text slots and
score lines; ``researcher``, ``cyclereviewer`` and ``deepreviewer`` the formats; ``catalog`` the
structures by name and the choice of grammar for a run.

Grammars are pure strings: engines receive ``SamplingParams.grammar`` and know nothing of formats.
"""

from __future__ import annotations

from dataclasses import replace  # re-exported since the first layout: ``replace(TINY, words=3)``

from .algebra import (
    Alt,
    Cls,
    Free,
    Lit,
    Node,
    Rep,
    Rule,
    Seq,
    alt,
    could_match,
    follows,
    matches,
    sample,
    seq,
    to_gbnf,
    to_regex,
)
from .capacity import EMBEDDED_TOKENS_PER_WORD, Capacity, FittedBounds, capacity, fit_bounds
from .catalog import (
    STRUCTURES,
    fitted_grammar,
    grammar_for,
    grammar_if,
    profile_for,
    resolve_constrain,
    structure,
)
from .cyclereviewer import cyclereviewer
from .deepreviewer import deepreviewer
from .researcher import researcher_paper, researcher_results, researcher_stage1, researcher_turn5
from .slots import (
    CONF,
    DEC_RATING,
    DEC_SCORE,
    DECISION,
    EMBEDDED_BOUNDS,
    EMBEDDED_REPEAT_PENALTY,
    EMBEDDED_REPEAT_WINDOW,
    INT_OPEN,
    RATING,
    SCORE4,
    SELF_SCORE,
    TINY,
    Bounds,
    Profile,
)

__all__ = [
    "CONF",
    "DEC_RATING",
    "DEC_SCORE",
    "DECISION",
    "EMBEDDED_BOUNDS",
    "EMBEDDED_REPEAT_PENALTY",
    "EMBEDDED_REPEAT_WINDOW",
    "EMBEDDED_TOKENS_PER_WORD",
    "INT_OPEN",
    "RATING",
    "SCORE4",
    "SELF_SCORE",
    "STRUCTURES",
    "TINY",
    "Alt",
    "Bounds",
    "Capacity",
    "Cls",
    "FittedBounds",
    "Free",
    "Lit",
    "Node",
    "Profile",
    "Rep",
    "Rule",
    "Seq",
    "alt",
    "capacity",
    "could_match",
    "cyclereviewer",
    "deepreviewer",
    "fit_bounds",
    "fitted_grammar",
    "follows",
    "grammar_for",
    "grammar_if",
    "matches",
    "profile_for",
    "replace",
    "researcher_paper",
    "researcher_results",
    "researcher_stage1",
    "researcher_turn5",
    "resolve_constrain",
    "sample",
    "seq",
    "structure",
    "to_gbnf",
    "to_regex",
]
