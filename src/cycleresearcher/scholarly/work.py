"""The record every service client returns (``Work``) and the identifier / title normalisation the
match rule and the cache keys share."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Work:
    """One scholarly work as a service describes it. Absent values are ``None`` / empty; ``ident``
    is the service's own id (S2 paperId, OpenAlex W-id, arXiv id, DOI for Crossref)."""

    service: str
    ident: str
    title: str = ""
    abstract: str | None = None
    year: int | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    pmid: str | None = None
    venue: str | None = None
    #: author display names in order ("Ada Lovelace" or "Lovelace, Ada")
    authors: list[str] = field(default_factory=list)
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Work:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def first_surname(self) -> str:
        return surname(self.authors[0]) if self.authors else ""


_NON_WORD = re.compile(r"[^0-9a-z]+")
_LATEX_CMD = re.compile(r"\\[a-zA-Z]+\s*|\\.")


def normalize_title(title: str) -> str:
    """Lowercase ASCII words separated by single spaces: accents, LaTeX commands, braces and
    punctuation gone, so that ``{BERT}: Pre-training ...`` and ``BERT: pre-training ...`` agree."""
    text = _LATEX_CMD.sub("", title or "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def surname(name: str) -> str:
    """The family name of one author as BibTeX or a service writes it ("Last, First" or "First
    Last"; a "{Group Name}" stays whole), normalised like a title."""
    name = (name or "").strip()
    if "," in name:
        name = name.split(",", 1)[0]
    else:
        words = name.replace("{", " ").replace("}", " ").split()
        name = words[-1] if words else ""
    return normalize_title(name).replace(" ", "")


_DOI = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)


def normalize_doi(value: str | None) -> str | None:
    """A bare lowercase DOI (``10.xxxx/...``) from a DOI, a ``doi:`` form or a doi.org URL."""
    if not value:
        return None
    m = _DOI.search(value.replace("\\_", "_"))
    return m.group(0).rstrip(".,;}").lower() if m else None


#: new-style (2007+) and old-style (hep-th/9901001) arXiv ids, without the version suffix
_ARXIV = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5}|[a-z][a-z.-]+/\d{7})(?:v\d+)?", re.IGNORECASE)


def normalize_arxiv(value: str | None) -> str | None:
    """The arXiv id (no version) in an ``eprint`` value, an arxiv.org URL or a journal line such as
    ``arXiv preprint arXiv:2101.00001``."""
    if not value:
        return None
    m = _ARXIV.search(value)
    return m.group(1).lower() if m else None
