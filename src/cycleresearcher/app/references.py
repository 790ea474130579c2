"""Use case ``references render``: reference files read (merged in order) and shown as the block
of the CycleResearcher prompt, as JSON, as plain BibTeX, or explained (what reaches the prompt)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import InputError
from .report import Report

#: what ``show_references`` returns: the prompt's block, the parsed references, plain BibTeX, or
#: an account of what reaches the prompt
SHOWN = ("block", "json", "bibtex", "explain")


@dataclass(frozen=True)
class ShowRequest:
    sources: tuple[str | bytes, ...]  # paths, or the bytes of a stream (standard input)
    shown: str = "block"  # one of SHOWN
    strict: bool = False  # refuse an entry that cannot be read (default: skip it with a warning)
    name: str | None = None  # the name warnings give a single source of bytes ("<stdin>")


def show_references(request: ShowRequest, report: Report) -> str:
    """The text to print, written as is: a block in the training layout comes back byte for byte.
    Each loading warning (skipped entries, duplicate keys, missing abstracts) goes to ``report``."""
    from ..references import load_references, render_references, to_bibtex

    if request.shown not in SHOWN:
        raise InputError(f"Cannot show references as {request.shown!r}: choose one of {', '.join(SHOWN)}.")
    sources = list(request.sources)
    refs = (
        load_references(sources, strict=request.strict)
        if len(sources) > 1
        else load_references(sources[0], strict=request.strict, name=request.name)
    )
    for warning in refs.warnings:
        report.warn(warning)
    if request.shown == "explain":
        from ..references.explain import explain_references

        return explain_references(refs, render_references(refs))
    if request.shown == "json":
        return json.dumps(refs.to_dict(), indent=2, ensure_ascii=False) + "\n"
    return to_bibtex(refs) if request.shown == "bibtex" else render_references(refs)


__all__ = ["SHOWN", "ShowRequest", "show_references"]
