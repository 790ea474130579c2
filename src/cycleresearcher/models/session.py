"""The model session: one model as a use case runs it, written once for the researcher and both
reviewers (``research.CycleResearcher``, ``review.BaseReviewer``).

A ``ModelSession`` owns the engine (one given, or built on first use), what the model is to the
defaults (embedded stand-in, released checkpoint, untrained), the grammar switch (``constrain``:
None = auto, True, False) and its resolution, the grammars fitted to a token budget (one fit per
structure and budget, not one per paper), and the embedded profile (``models.embedded``) when the
stand-in runs.

``create_engine`` is where a model name meets its family: a size alias becomes the family's
released id (``12B`` is a CycleResearcher, ``8B`` a CycleReviewer), ``embedded`` / None the shipped
GGUF, and a server asked for no model answers with the model of the family it serves (a server
serving a CycleResearcher and a CycleReviewer is never asked for a review by the researcher because
it lists it first). The engines themselves take a model id and know no family.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal

from . import (
    EMBEDDED_NAME,
    ModelKind,
    embedded_notice,
    is_embedded,
    pick_served_model,
    resolve_model,
    run_model_kind,
    runs_embedded,
)
from .embedded import EMBEDDED, EmbeddedProfile

if TYPE_CHECKING:
    from ..engines.base import Engine
    from ..prompts.grammars import Bounds, FittedBounds

Family = Literal["researcher", "cyclereviewer", "deepreviewer"]


def create_engine(
    model: str | None = None,
    engine: str | None = None,
    base_url: str | None = None,
    family: str = "researcher",
    notice: bool = True,
    **kwargs: Any,
) -> Engine:
    """Resolve ``model`` for ``family``, choose the engine (``engines.choose_engine``) and load it.
    Prints a one-line notice when the tiny embedded stand-in is used. ``kwargs`` go to the engine
    (e.g. ``api_key``, ``n_ctx``, ``tensor_parallel_size``), checked against its constructor."""
    from ..engines import choose_engine, load_engine

    name = choose_engine(model, engine, base_url)
    if name == "openai":
        # a server serves its own model name; aliases still map to the released ids
        resolved = resolve_model(model, family, served=True) if model and model != EMBEDDED_NAME else (model or "")
        served = load_engine(name, model=resolved, base_url=base_url, **kwargs)
        if not resolved:
            listed = getattr(served, "served_models", lambda: [])()
            picked = pick_served_model(listed, family)
            if picked:
                served.model_id = picked
        return served
    if notice and is_embedded(model):
        print(f"Notice: {embedded_notice(family)}", file=sys.stderr)
    return load_engine(name, model=resolve_model(model, family), **kwargs)


class ModelSession:
    """``ModelSession(model, family, engine=None, base_url=None, constrain=None, engine_kwargs=None)``.

    ``engine`` is a registered name or ``module:Class`` (built on first use, closed by ``close``)
    or a loaded ``Engine`` (used as is, never closed here: its owner closes it)."""

    def __init__(
        self,
        model: str | None,
        family: Family | str,
        engine: str | Engine | None = None,
        base_url: str | None = None,
        *,
        constrain: bool | None = None,
        engine_kwargs: dict[str, Any] | None = None,
    ):
        from ..engines.base import Engine

        self.model = model
        self.family = family
        self.base_url = base_url
        #: grammar-constrained structure: None = auto (on for every model but the released ones)
        self.constrain = constrain
        self.engine_kwargs = dict(engine_kwargs or {})
        self.given: Engine | None = engine if isinstance(engine, Engine) else None
        self.engine_name: str | None = self.given.name if self.given is not None else engine  # type: ignore[assignment]
        self._engine: Engine | None = self.given
        self._fits: dict[tuple[Any, ...], tuple[str | None, FittedBounds | None]] = {}

    # -- the engine -------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(
                self.model, self.engine_name, self.base_url, family=self.family, **self.engine_kwargs
            )
        return self._engine

    @property
    def loaded(self) -> Engine | None:
        """The engine if it exists already (given, or built), else None; never builds one."""
        return self._engine

    def label(self) -> str:
        """The model's name as the engine knows it (a served name, a path), else as given."""
        return getattr(self._engine, "model_id", "") or str(self.model or "")

    def close(self) -> None:
        """Close the engine this session built; a given engine is its owner's to close."""
        if self._engine is not None and self.given is None:
            self._engine.close()
            self._engine = None

    # -- what the model is ------------------------------------------------------------------------
    @property
    def is_embedded(self) -> bool:
        return runs_embedded(self.model, self.base_url, self.given)

    @property
    def model_kind(self) -> ModelKind:
        """What the model is to the grammar default: embedded, released (a trained format) or
        untrained. A server's model is known by the name it serves (asked when none was given)."""
        return run_model_kind(self.model, self.base_url, self.given, lambda: self.engine.model_id)

    @property
    def profile(self) -> EmbeddedProfile | None:
        """The embedded stand-in's budgets and defaults when it runs, else None (upstream's)."""
        return EMBEDDED if self.is_embedded else None

    def repetition(self, penalty: float | None = None, window: int | None = None) -> tuple[float, int]:
        """(repeat penalty, its window): the given ones, else the embedded profile's, else off."""
        profile = self.profile
        if penalty is None:
            penalty = profile.repeat_penalty if profile else 1.0
        if not window:
            window = profile.repeat_window if profile else 64
        return penalty, window

    # -- the grammar ------------------------------------------------------------------------------
    def constrain_setting(self, override: bool | None = None) -> bool | None:
        """A run's own setting where it has one, else the session's (None: auto)."""
        return override if override is not None else self.constrain

    def constrained(self, override: bool | None = None) -> bool:
        """Whether requests get a grammar: auto is on for every model but the released ones."""
        from ..prompts.grammars import resolve_constrain

        return resolve_constrain(self.constrain_setting(override), self.model_kind)

    def grammar_optional(self, override: bool | None = None) -> bool:
        """An auto grammar (no one asked for it): a server that refuses it is asked again without."""
        return self.constrain_setting(override) is None

    def grammar(
        self,
        structure: str,
        max_tokens: int | None = None,
        *,
        bounds: Bounds | None = None,
        constrain: bool | None = None,
    ) -> tuple[str | None, FittedBounds | None]:
        """The GBNF of ``structure`` (``prompts.grammars.STRUCTURES``) with its bounded free text
        fitted to ``max_tokens``, and the fit; (None, None) when constraining is off."""
        from ..prompts.grammars import fitted_grammar

        setting = self.constrain_setting(constrain)
        key = (setting, self.model_kind, structure, bounds, max_tokens)
        if key not in self._fits:
            # the engine counts the fixed text only when there is a budget to fit (loaded then)
            self._fits[key] = fitted_grammar(*key, lambda text: self.engine.count_text(text))
        return self._fits[key]


class SessionUser:
    """The model attributes of the public classes (``CycleResearcher``, the reviewers), read from
    their ``session``: written once, so the two stay drop-in alike."""

    session: ModelSession

    @property
    def engine(self) -> Engine:
        return self.session.engine

    @property
    def model(self) -> str | None:
        return self.session.model

    @property
    def base_url(self) -> str | None:
        return self.session.base_url

    @property
    def constrain(self) -> bool | None:
        return self.session.constrain

    @constrain.setter
    def constrain(self, value: bool | None) -> None:
        self.session.constrain = value

    @property
    def is_embedded(self) -> bool:
        return self.session.is_embedded

    @property
    def model_kind(self) -> ModelKind:
        """What the model is to the grammar default (``ModelSession.model_kind``)."""
        return self.session.model_kind


__all__ = ["Family", "ModelSession", "SessionUser", "create_engine"]
