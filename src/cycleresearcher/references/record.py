"""The records every reader returns and every writer takes: ``Reference``, ``ReferenceSet`` and
the ``FitResult`` of fitting a set to a context budget."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .fields import format_entry, strip_field


@dataclass
class Reference:
    """One cited work.

    ``raw`` is the entry text as given (BibTeX entry or ``\\bibitem``), used verbatim when
    rendering. ``lead`` and ``abstract_line`` record the exact text before the entry in a
    training-layout block (``None``: not parsed from such a block, render canonically).
    """

    key: str
    entry_type: str = "misc"
    fields: dict[str, str] = dataclasses.field(default_factory=dict)
    title: str = ""
    abstract: str | None = None
    raw: str | None = None
    source: str = ""
    lead: str | None = dataclasses.field(default=None, repr=False)
    abstract_line: str | None = dataclasses.field(default=None, repr=False)
    #: the abstract is an ``abstract`` field that stays inside the entry (a training-layout block
    #: where this entry had no ``Abstract:`` line): no line is added when rendering
    abstract_in_entry: bool = dataclasses.field(default=False, repr=False)
    #: the entry's braces never close (a cut-off block, read with ``strict=False``)
    truncated: bool = False
    #: fields left out of the prompt and the export, with the reason (``clean.drop_reason``)
    dropped: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)
    #: identifier fields among ``dropped`` with their values (for enrichment only)
    identifiers: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)

    def entry_text(self) -> str:
        """The entry as it appears in the training layout: the raw text without an ``abstract``
        field when the abstract moved to the ``Abstract:`` line, else a generated entry."""
        if self.raw is not None:
            if self.abstract_line is None and not self.abstract_in_entry and "abstract" in self.fields:
                return strip_field(self.raw, "abstract")
            return self.raw
        return format_entry(
            self.entry_type, self.key, {k: v for k, v in self.all_fields().items() if k != "abstract"}
        )

    def all_fields(self) -> dict[str, str]:
        """``fields`` with the title filled in (a Reference built in code may only set ``title``)."""
        if self.title and not self.fields.get("title"):
            return {"title": self.title, **self.fields}
        return self.fields

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "entry_type": self.entry_type,
            "title": self.title,
            "abstract": self.abstract,
            "fields": dict(self.fields),
            "bibtex": self.entry_text(),
            "source": self.source,
            "truncated": self.truncated,
        }


@dataclass
class ReferenceSet:
    """References read from one or more inputs, with the warnings met on the way.

    ``header`` / ``trailer``: text before the first and after the last entry of a training-layout
    block, kept so that an unchanged block renders back byte for byte.
    """

    references: list[Reference] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    sources: list[str] = dataclasses.field(default_factory=list)
    header: str = ""
    trailer: str = ""
    #: entries skipped because they could not be read, duplicate keys merged away, and entries
    #: renamed because their key was another work's too
    skipped: int = 0
    merged: int = 0
    renamed: int = 0
    #: the input held only ``@string`` definitions (an abbreviations file for the files after it)
    macros_only: bool = False

    def __len__(self) -> int:
        return len(self.references)

    def __iter__(self) -> Iterator[Reference]:
        return iter(self.references)

    def __getitem__(self, index: int) -> Reference:
        return self.references[index]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``load_references`` reads this shape back (it is a record with ``references``)."""
        return {
            "sources": list(self.sources),
            "warnings": list(self.warnings),
            "references": [r.to_dict() for r in self.references],
        }


@dataclass
class FitResult:
    """``kept`` in their original order; ``dropped`` least relevant first; ``tokens`` of the kept prompt."""

    kept: list[Reference]
    dropped: list[Reference]
    tokens: int
    scores: dict[str, float] = dataclasses.field(default_factory=dict)
