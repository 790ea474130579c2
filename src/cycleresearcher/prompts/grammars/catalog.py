"""The structures by name, and the choice of grammar for a run (constrain or not, which profile)."""

from __future__ import annotations

from collections.abc import Callable

from ...models import ModelKind
from .algebra import Node, to_gbnf
from .capacity import FittedBounds, fit_bounds
from .cyclereviewer import cyclereviewer
from .deepreviewer import deepreviewer
from .researcher import researcher_paper, researcher_stage1, researcher_turn5
from .slots import EMBEDDED_BOUNDS, Bounds, Profile


def structure(name: str, profile: Profile = "bounded", bounds: Bounds | None = None) -> Node:
    """``researcher`` (one-shot paper), ``researcher-stage1``, ``researcher-turn5``,
    ``cyclereviewer`` / ``cyclereviewer-b``, ``deepreviewer-fast`` / ``-standard`` / ``-best1`` / ``-best2``."""
    builders = {
        "researcher": lambda: researcher_paper(profile, bounds),
        "researcher-stage1": lambda: researcher_stage1(profile, bounds),
        "researcher-turn5": lambda: researcher_turn5(profile, bounds),
        "cyclereviewer": lambda: cyclereviewer(profile, bounds, "a"),
        "cyclereviewer-b": lambda: cyclereviewer(profile, bounds, "b"),
        "deepreviewer-fast": lambda: deepreviewer("fast", profile, bounds),
        "deepreviewer-standard": lambda: deepreviewer("standard", profile, bounds),
        "deepreviewer-best1": lambda: deepreviewer("best", profile, bounds, turn=1),
        "deepreviewer-best2": lambda: deepreviewer("best", profile, bounds, turn=2),
    }
    if name not in builders:
        raise ValueError(f"unknown structure {name!r}; one of {', '.join(builders)}")
    return builders[name]()


STRUCTURES = (
    "researcher", "researcher-stage1", "researcher-turn5", "cyclereviewer", "cyclereviewer-b",
    "deepreviewer-fast", "deepreviewer-standard", "deepreviewer-best1", "deepreviewer-best2",
)  # fmt: skip


def grammar_for(name: str, profile: Profile = "bounded", bounds: Bounds | None = None) -> str:
    return to_gbnf(structure(name, profile, bounds))


def resolve_constrain(constrain: bool | None, kind: ModelKind) -> bool:
    """``None`` (auto): on for the embedded stand-in and for models with no trained format,
    off for the released models (they follow their format already; constraining is opt-in)."""
    return kind != "released" if constrain is None else bool(constrain)


def profile_for(kind: ModelKind) -> Profile:
    """``bounded`` free text for models with no trained format (a small model cannot loop inside a
    slot), ``open`` for the released models (constraining cannot change what they may write)."""
    return "open" if kind == "released" else "bounded"


def grammar_if(
    constrain: bool | None, kind: ModelKind, name: str, bounds: Bounds | None = None
) -> str | None:
    """The GBNF for structure ``name`` when constraining is on (auto: every model but the released
    ones), else None. The embedded model gets ``EMBEDDED_BOUNDS`` unless ``bounds`` is given."""
    return fitted_grammar(constrain, kind, name, bounds)[0]


def fitted_grammar(
    constrain: bool | None,
    kind: ModelKind,
    name: str,
    bounds: Bounds | None,
    max_tokens: int | None = None,
    count_text: Callable[[str], int] | None = None,
) -> tuple[str | None, FittedBounds | None]:
    """``grammar_if``; with ``max_tokens`` (and ``count_text`` for the fixed text) the bounded
    profile's words per paragraph are lowered until the longest output fits it
    (``capacity.fit_bounds``). The open profile (released models) has no length to fit."""
    if not resolve_constrain(constrain, kind):
        return None, None
    profile = profile_for(kind)
    if bounds is None and kind == "embedded":
        bounds = EMBEDDED_BOUNDS
    if profile == "open" or max_tokens is None:
        return grammar_for(name, profile, bounds), None
    if count_text is None:
        raise ValueError("fitted_grammar needs count_text to fit a grammar to max_tokens")
    fit = fit_bounds(lambda b: structure(name, profile, b), bounds or Bounds(), max_tokens, count_text)
    return grammar_for(name, profile, fit.bounds), fit
