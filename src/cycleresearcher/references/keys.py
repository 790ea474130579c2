"""Citation keys for references given without one (paper-record JSON)."""

from __future__ import annotations

import re
import unicodedata

from .fields import clean

_STOP_WORDS = {
    "a",
    "an",
    "the",
    "on",
    "of",
    "in",
    "for",
    "and",
    "to",
    "towards",
    "toward",
    "with",
    "is",
    "are",
    "via",
    "from",
}


def _ascii_word(text: str) -> str:
    return re.sub(
        r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    )


def make_key(fields: dict[str, str], taken: set[str]) -> str:
    """Google-Scholar-style key ``lastname2020firstword``, unique within ``taken``."""
    author = fields.get("author", "").split(" and ")[0].strip()
    last = author.split(",")[0] if "," in author else (author.split()[-1] if author.split() else "")
    words = [_ascii_word(w) for w in clean(fields.get("title", "")).split()]
    first = next((w for w in words if w and w not in _STOP_WORDS), "")
    base = f"{_ascii_word(last)}{_ascii_word(fields.get('year', ''))}{first}" or "ref"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}{n}"
    return key
