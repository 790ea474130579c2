"""No local path in what a paper's exports carry (paper.json, paper.md, the LaTeX): the folders
of the user's machine are their own business, as the ``file = {/Users/...}`` fields the
references drop (docs/references.md). Files are named by their name, models by theirs."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..models import local_name
from .record import Paper

#: the folders of an absolute or home path (POSIX or Windows), up to its last separator; not a
#: URL's (``http://``), a DOI's (``10.1109/...``) or "and/or"
_DIRS = re.compile(r"(?<![\w.:/\\~-])(?:~|[A-Za-z]:)?[/\\](?:[^\s/\\:'\"()\[\],;]+[/\\])+")


def without_dirs(text: str) -> str:
    """``text`` with every absolute path cut to its file name."""
    return _DIRS.sub("", text)


def file_name(value: Any) -> Any:
    """A path given as text cut to its last part (``models.local_name``); anything else as it is."""
    return local_name(value) if isinstance(value, str) and value else value


def public_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` with its source file and engine model named, not located."""
    out = dict(meta)
    if "source" in out:
        out["source"] = file_name(out["source"])
    engine = out.get("engine")
    if isinstance(engine, dict) and "model" in engine:
        out["engine"] = {**engine, "model": file_name(engine["model"])}
    if isinstance(out.get("reference_warnings"), list):
        out["reference_warnings"] = [without_dirs(str(w)) for w in out["reference_warnings"]]
    return out


def public(paper: Paper) -> Paper:
    """The paper as its exports show it: no folder of this machine in its meta or warnings."""
    return replace(
        paper, meta=public_meta(paper.meta or {}), warnings=[without_dirs(w) for w in paper.warnings]
    )


__all__ = ["file_name", "public", "public_meta", "without_dirs"]
