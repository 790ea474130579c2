"""JSON loading that survives hostile nesting.

``json.loads('[' * 200000 + ']' * 200000)`` raises ``RecursionError``, and a structure a few
hundred levels deep loads but then breaks any recursive walk (``json.dumps``, ``asdict``, our own
code). Every file a user hands us goes through :func:`loads` / :func:`load`, which turn both into an
:class:`~cycleresearcher.errors.InputError` naming the file, so a batch reports one line and goes on.
``json.JSONDecodeError`` passes through unchanged: callers keep their own, more specific hints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import InputError

#: deeper than any file cycleresearcher writes or reads (papers, results, records: < 10 levels)
MAX_DEPTH = 100


class NestingError(InputError):
    """JSON nested deeper than :data:`MAX_DEPTH` levels."""

    def __init__(self, label: str):
        super().__init__(
            f"{label}: nested too deeply (lists/objects more than {MAX_DEPTH} levels deep). "
            "No cycleresearcher file looks like this; check that it is the file you meant."
        )


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists/dicts more than ``limit`` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def loads(text: str | bytes, label: str = "JSON") -> Any:
    """``json.loads`` that raises :class:`NestingError` (an InputError) for hostile nesting."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise NestingError(label) from None
    if too_deep(value):
        raise NestingError(label)
    return value


def raw_decode(text: str, idx: int = 0, label: str = "JSON") -> tuple[Any, int]:
    """``json.JSONDecoder().raw_decode`` with the same nesting guard as :func:`loads`."""
    try:
        value, end = json.JSONDecoder().raw_decode(text, idx)
    except RecursionError:
        raise NestingError(label) from None
    if too_deep(value):
        raise NestingError(label)
    return value, end


def load(path: str | Path, label: str | None = None) -> Any:
    """Read and parse a UTF-8 JSON file; OS and encoding problems become InputError too."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{p}: cannot read the file ({exc.strerror or exc}). Check the path.") from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start}); re-save it as UTF-8."
        ) from exc
    return loads(text, label or str(p))
