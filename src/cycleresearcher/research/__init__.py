"""CycleResearcher orchestration: reference sets -> requests -> engine -> Paper records, through
the run store. ``settings`` holds the run settings and sampling limits, ``researcher`` the
``CycleResearcher`` class (one-shot ``simulate`` and ``two-stage`` with real results)."""

from __future__ import annotations

from .researcher import CycleResearcher
from .settings import (
    DEFAULT_SAMPLING,
    EMBEDDED_CONSTRAINED_MAX_TOKENS,
    EMBEDDED_MAX_TOKENS,
    STAGE1_STOP,
    UPSTREAM_MAX_TOKENS,
    PreparedSet,
    ResearchSettings,
    default_sampling,
)

__all__ = [
    "DEFAULT_SAMPLING",
    "EMBEDDED_CONSTRAINED_MAX_TOKENS",
    "EMBEDDED_MAX_TOKENS",
    "STAGE1_STOP",
    "UPSTREAM_MAX_TOKENS",
    "CycleResearcher",
    "PreparedSet",
    "ResearchSettings",
    "default_sampling",
]
