"""Names the browser sends: safe file names, and run and record names that stay inside the runs
folder (``SAFE_NAME``). What an upload's bytes are is checked in ``app/uploads.py``."""

from __future__ import annotations

import re
from pathlib import Path

#: run folders and record keys that may appear in a URL: no separators, no "..", no leading dot
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,159}$")


def safe_filename(name: str | None, default: str) -> str:
    """The last path component of an upload's name, reduced to safe characters."""
    base = Path(str(name or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9_.\-]+", "-", base).strip(".-")[:80]
    return base or default


def is_safe_name(name: str) -> bool:
    return bool(SAFE_NAME.match(name)) and ".." not in name


def inside(root: Path, name: str) -> Path | None:
    """``root/name`` when ``name`` is a safe single component that stays inside ``root``; else None."""
    if not is_safe_name(name):
        return None
    root = root.resolve()
    path = (root / name).resolve()
    return path if path.parent == root else None
