"""Verbatim prompt strings of the released models, kept as package data (one JSON file per model
family; each file says where its strings come from). Load with ``load("researcher")``."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """The prompt file ``prompts/<name>.json`` as a dict (cached; treat it as read-only)."""
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)
