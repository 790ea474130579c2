"""Paper-record JSON -> ``ReferenceSet``: a record with ``references: [{title, abstract, ...}]``,
a list of such records, or a list of references (``ReferenceSet.to_dict`` reads back too)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import safejson
from ..errors import ReferencesError
from .fields import clean
from .keys import make_key
from .record import Reference, ReferenceSet

#: reads the text of a reference's ``bibtex`` field (``load.parse_text``, passed in so that this
#: reader does not import the dispatcher that imports it)
ParseText = Callable[[str, str], ReferenceSet]

_SHAPE = (
    "expected a paper record with 'references': [{title, abstract, ...}], a list of such records, "
    "or a list of references"
)


def parse_json(text: str, label: str, parse_text: ParseText) -> ReferenceSet:
    try:
        data = safejson.loads(text, label)
    except json.JSONDecodeError as exc:
        raise ReferencesError(
            f"{label}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno}); fix the JSON or pass a .bib file"
        ) from exc
    lists: list[tuple[str, list[Any]]]
    if isinstance(data, dict) and isinstance(data.get("references"), list):
        lists = [("references", data["references"])]
    elif (
        isinstance(data, list)
        and data
        and all(isinstance(r, dict) and isinstance(r.get("references"), list) for r in data)
    ):
        lists = [(f"[{i}].references", r["references"]) for i, r in enumerate(data)]
    elif isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        lists = [("", data)]
    else:
        raise ReferencesError(f"{label}: unexpected JSON shape; {_SHAPE}.")
    result = ReferenceSet(sources=[label])
    taken: set[str] = set()
    for prefix, items in lists:
        for i, item in enumerate(items):
            where = f"{label}:{prefix}[{i}]"
            if not isinstance(item, dict):
                raise ReferencesError(
                    f"{where}: a reference must be an object with 'title' and 'abstract'; {_SHAPE}."
                )
            result.references.append(_reference_from_dict(item, where, taken, parse_text))
    if not result.references:
        raise ReferencesError(f"{label}: the JSON holds no references; {_SHAPE}.")
    return result


def _reference_from_dict(
    item: dict[str, Any], where: str, taken: set[str], parse_text: ParseText
) -> Reference:
    abstract = item.get("abstract")
    abstract = " ".join(str(abstract).split()) or None if abstract else None
    bibtex = item.get("bibtex") or item.get("raw")
    if isinstance(bibtex, str) and bibtex.strip():
        parsed = parse_text(bibtex.replace("\r\n", "\n").strip(), where).references[0]
        parsed.source = where
        if abstract is not None:
            parsed.abstract = abstract
        if item.get("title"):
            parsed.title = clean(str(item["title"]))
        taken.add(parsed.key)
        return parsed
    title = str(item.get("title") or "").strip()
    if not title:
        raise ReferencesError(f"{where}: this reference has neither a 'title' nor a 'bibtex' entry; add one.")
    fields: dict[str, str] = {"title": title}
    authors = item.get("authors", item.get("author"))
    if isinstance(authors, list):
        names = [a.get("name", "") if isinstance(a, dict) else a for a in authors]
        bad = next((n for n in names if n is not None and not isinstance(n, str)), None)
        if bad is not None:
            raise ReferencesError(
                f"{where}: author names must be text, not {type(bad).__name__} ({bad!r}); "
                'write "authors": ["Ada Lovelace", ...] or [{"name": "Ada Lovelace"}, ...].'
            )
        authors = " and ".join(n for n in names if n)
    elif authors is not None and not isinstance(authors, str):
        raise ReferencesError(
            f"{where}: 'authors' must be text or a list of names, not {type(authors).__name__}; "
            'write "authors": ["Ada Lovelace", ...].'
        )
    if authors:
        fields["author"] = authors
    if item.get("venue") or item.get("journal"):
        fields["journal"] = str(item.get("venue") or item.get("journal"))
    if item.get("year"):
        fields["year"] = str(item["year"])
    if isinstance(item.get("fields"), dict):
        fields.update({str(k).lower(): str(v) for k, v in item["fields"].items() if k != "abstract"})
    key = str(item.get("key") or item.get("citationKey") or item.get("ID") or make_key(fields, taken))
    taken.add(key)
    return Reference(
        key=key,
        entry_type=str(item.get("entry_type") or item.get("ENTRYTYPE") or "misc").lower(),
        fields=fields,
        title=clean(title),
        abstract=abstract,
        source=where,
    )
