"""The strict title match: a work found by title is the entry's work only when its normalised title
is the same, its year is within one of the entry's, and its first author's surname is the
entry's first author's. Two distinct works passing the rule are ambiguous; a work passing all but
the year is a wrong-year match. Neither is ever used to fill an entry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from .work import Work, normalize_title, surname

Verdict = Literal["found", "ambiguous", "wrong_year", "not_found"]


@dataclass
class TitleMatch:
    verdict: Verdict
    work: Work | None = None
    #: the works behind an ``ambiguous`` or ``wrong_year`` verdict (for the report)
    candidates: list[Work] = field(default_factory=list)


def _same_work(a: Work, b: Work) -> bool:
    # a service may list one work twice (a preprint and its version of record share a DOI or an id)
    return bool((a.doi and a.doi == b.doi) or (a.arxiv_id and a.arxiv_id == b.arxiv_id) or a.ident == b.ident)


def match_title(title: str, year: int | None, first_author: str, works: Iterable[Work]) -> TitleMatch:
    """Apply the rule to the works one search returned. Without a title, a year or an author there
    is nothing strict to compare: ``not_found``."""
    want_title, want_surname = normalize_title(title), surname(first_author)
    if not want_title or year is None or not want_surname:
        return TitleMatch("not_found")
    same = [w for w in works if normalize_title(w.title) == want_title and w.first_surname() == want_surname]
    good = [w for w in same if w.year is not None and abs(w.year - year) <= 1]
    distinct: list[Work] = []
    for w in good:
        if not any(_same_work(w, d) for d in distinct):
            distinct.append(w)
    if len(distinct) > 1:
        return TitleMatch("ambiguous", candidates=distinct)
    if distinct:
        return TitleMatch("found", work=distinct[0])
    if same:
        return TitleMatch("wrong_year", candidates=same)
    return TitleMatch("not_found")
