"""The settings of a generation run, the prepared prompt of one reference set, and the sampling
limits the orchestration chooses from (FORMATS.md §1)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..engines.base import SamplingParams
from ..errors import InputError
from ..models.embedded import EMBEDDED
from ..prompts.research import STOP_STRINGS, UPSTREAM_SAMPLING
from ..references import Reference

#: upstream sampling of the released models (FORMATS.md §1)
UPSTREAM_MAX_TOKENS = int(UPSTREAM_SAMPLING["max_tokens"])
#: the embedded stand-in's paper budgets, unconstrained and with the grammar on (the one
#: embedded profile, ``models.embedded``, says why)
EMBEDDED_MAX_TOKENS = EMBEDDED.paper_max_tokens
EMBEDDED_CONSTRAINED_MAX_TOKENS = EMBEDDED.paper_constrained_max_tokens
#: where stage 1 stops in two-stage mode: the model would next write the results turn itself
STAGE1_STOP = "## Experimental_results"

PAPER = "paper"  # RunStore record kind
PAPER_VERSION = "paper_version"  # earlier records of a paper whose results were redone
REFSET = "reference_set"

#: upstream sampling: temperature 0.4, top_p 0.95, 19,000 new tokens, EOS ignored, the stop strings.
#: Shared instance: copy it with ``default_sampling(**changes)`` rather than mutating it.
DEFAULT_SAMPLING = SamplingParams(stop=list(STOP_STRINGS), **UPSTREAM_SAMPLING)


def default_sampling(**changes: Any) -> SamplingParams:
    """A fresh copy of the upstream sampling settings with ``changes`` applied (e.g. ``n=4``)."""
    return dataclasses.replace(DEFAULT_SAMPLING, stop=list(DEFAULT_SAMPLING.stop), **changes)


@dataclass
class ResearchSettings:
    """Sampling and flow settings of one generation run."""

    n: int = 1
    topic: str | None = None
    mode: str = "simulate"  # "simulate" | "two-stage"
    temperature: float = 0.4
    top_p: float = 0.95
    max_tokens: int | None = None  # None: upstream 19,000, capped by the context; 1,024 on the embedded model
    seed: int | None = None
    drop_to_fit: bool = False
    #: grammar-constrained structure: None = auto (on for every model but the released ones), True / False
    constrain: bool | None = None
    #: free-text sizes of the grammar (None: the embedded default); tests shrink them
    bounds: Any = None
    #: None: 1.0, or the measured default on the embedded model
    repeat_penalty: float | None = None
    #: tokens the penalty looks back over (llama.cpp); None: 64, or the embedded model's measured window
    repeat_last_n: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("simulate", "two-stage"):
            raise InputError(f"mode must be 'simulate' or 'two-stage', got {self.mode!r}")
        if self.n < 1:
            raise InputError(f"n must be >= 1, got {self.n}")


@dataclass
class PreparedSet:
    """One reference set turned into its exact prompt."""

    set_id: str
    source: str
    references: list[Reference]
    messages: list[dict[str, str]]
    dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
