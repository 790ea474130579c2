"""The model a use case runs on: what the user chose (``ModelChoice``) and the loaded engine
(``Sessions``, one kept loaded between jobs so a second job on the same model does not reload it).

Both shells build a ``ModelChoice`` from their inputs (the CLI's options, the page's form and the
``serve`` defaults) and hand it to the use case with the ``Sessions`` they own. The engine is
built by a factory (tests inject their scripted engine) with the family of the model asked for
(researcher, cyclereviewer, deepreviewer), so an empty model field on a server goes to the model
of that family, never to whatever the server lists first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..engines.base import Engine

#: (choice, family) -> Engine
EngineFactory = Callable[["ModelChoice", str], Engine]
#: () -> a detector: ``calibration`` and ``detect_batch(texts, sources, on_result=, papers=)`` (``detect.AIDetector``)
DetectorFactory = Callable[[], Any]


@dataclass(frozen=True)
class ModelChoice:
    """What the user asked for. None everywhere is the default: the embedded model on a CPU."""

    model: str | None = None
    engine: str | None = None
    base_url: str | None = None
    #: for ``--base-url`` servers that need one; never stored, printed or shown
    api_key: str | None = field(default=None, repr=False, compare=False)
    #: engine settings (``--engine-opt``), already checked against the engine
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    #: None: each use case's own default (upstream's limits for released and user-given models)
    max_tokens: int | None = None
    #: grammar-constrained structure: None = auto (on for every model but the released ones)
    constrain: bool | None = None

    def key(self, family: str) -> tuple:
        """What makes two engines the same: a loaded one is reused only for the same key."""
        return (self.model, self.engine, self.base_url, family, tuple(sorted(self.options.items(), key=str)))

    def with_run_defaults(self, model: str | None, engine: str | None, base_url: str | None) -> ModelChoice:
        """This choice, or (when it names no model, engine or server) what a run was generated with."""
        if self.model or self.engine or self.base_url:
            return self
        return replace(self, model=model, engine=engine, base_url=base_url)

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model or ("served model" if self.base_url else "embedded"),
            "engine": self.engine or ("openai" if self.base_url else "auto"),
            "max_tokens": self.max_tokens,  # None: each task's own default
            "constrain": {None: "auto", True: "on", False: "off"}[self.constrain],
            "label": self.label(),
        }

    def name(self) -> str:
        """The model in a progress line: "embedded SmolLM2-135M" for the stand-in, even where a run
        stored its file's path; a local file by its name; a hub id or served name as it is."""
        from ..models import display_name

        return display_name(self.model) if self.model or not self.base_url else "served model"

    def label(self) -> str:
        """The model used when the model is left empty, in words (the home page names it)."""
        from ..models import is_embedded

        if self.model and not is_embedded(self.model):
            return f"{self.model}" + (" (served)" if self.base_url else "")
        if self.base_url:
            return "the model the --base-url server serves for each task (its first listed if none matches)"
        return "the embedded SmolLM2-135M stand-in"


def default_engine_factory(choice: ModelChoice, family: str) -> Engine:
    from ..engines import create_engine

    opts = dict(choice.options)
    if choice.api_key:
        opts["api_key"] = choice.api_key
    return create_engine(choice.model, choice.engine, choice.base_url, family=family, **opts)


def default_detector_factory() -> Any:
    from ..detect import AIDetector

    return AIDetector()


class Sessions:
    """Engine and detector construction with a one-slot cache (a shell runs one job at a time).

    The CLI makes one per command and closes it at the end; the web app makes one for its life."""

    def __init__(
        self, engine_factory: EngineFactory | None = None, detector_factory: DetectorFactory | None = None
    ):
        self.engine_factory = engine_factory or default_engine_factory
        self.detector_factory = detector_factory or default_detector_factory
        self._engine: tuple[tuple, Engine] | None = None
        self._detector: Any = None
        self._lock = threading.Lock()

    def engine(self, choice: ModelChoice, family: str) -> Engine:
        key = choice.key(family)
        with self._lock:
            if self._engine is not None and self._engine[0] == key:
                return self._engine[1]
            if self._engine is not None:
                self._engine[1].close()
                self._engine = None
            engine = self.engine_factory(choice, family)
            self._engine = (key, engine)
            return engine

    def detector(self) -> Any:
        with self._lock:
            if self._detector is None:
                self._detector = self.detector_factory()
            return self._detector

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine[1].close()
                self._engine = None

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def engine_settings(
    pairs: list[str] | None,
    *,
    model: str | None = None,
    engine: str | None = None,
    base_url: str | None = None,
    check: bool = True,
) -> dict[str, Any]:
    """``["n_ctx=8192", "dtype=bf16"]`` -> ``{"n_ctx": 8192, "dtype": "bf16"}`` (``--engine-opt``).

    With ``check`` the keys and values are checked now against the engine that ``model`` /
    ``engine`` / ``base_url`` choose (an unknown engine, unknown keys and wrong types fail before
    any work starts); values are converted to the types the engine's constructor declares."""
    from ..errors import InputError

    opts: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--engine-opt expects KEY=VALUE, got {pair!r}")
        opts[key.strip().replace("-", "_")] = value
    if check and (opts or engine):
        from ..engines import choose_engine, engine_class
        from ..engines.options import check_engine_options

        # an explicit engine is imported now (a module:Class that is not there fails before the run
        # directory is made); a chosen one only when there are options to check against it
        name = choose_engine(model, engine, base_url)
        cls = engine_class(name)
        if opts:
            opts = check_engine_options(name, cls, opts)
    return opts

