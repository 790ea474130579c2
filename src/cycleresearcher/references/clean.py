"""Which BibTeX fields reach the prompt and ``references.bib``, and why the others do not.

The field set is read off the training records (the reference blocks of the released model's
training conversations, ``fixtures/research/conversation_*.json``: 176 entries): author 176,
title 175, year 175, booktitle 84, journal 78, pages 78, volume 46, publisher 37, url 34, doi 22,
number 19, address 18, organization 16, eprint 11, archiveprefix / primaryclass 7, editor 5,
series 3, month 3, and once each howpublished, note. Google-Scholar-style entries, in short. The
standard BibTeX / biblatex fields that say *what* a work is (school, institution, edition,
chapter, type, date, journaltitle, location, eprinttype) are kept too. Everything else is
reference-manager or database bookkeeping (``file``, ``owner``, ``timestamp``, ``mendeley-groups``,
Scopus and Web of Science metadata, ``keywords``: 2 of 176 training entries) and is dropped from
the prompt and from the exported ``references.bib``; ``abstract`` moves to its ``Abstract:`` line.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .fields import remove_fields

#: the fields a rendered entry keeps (lower case)
PROMPT_FIELDS = frozenset(
    {
        "author",
        "title",
        "year",
        "booktitle",
        "journal",
        "pages",
        "volume",
        "number",
        "publisher",
        "organization",
        "address",
        "url",
        "doi",
        "eprint",
        "archiveprefix",
        "primaryclass",
        "eprinttype",
        "editor",
        "series",
        "month",
        "howpublished",
        "note",
        "school",
        "institution",
        "edition",
        "chapter",
        "type",
        "date",
        "journaltitle",
        "location",
        "crossref",  # BibTeX needs it to resolve the parent entry
        "abstract",  # moves to the Abstract: line (render) or stays (export)
    }
)

#: fields that hold a path on the user's machine
_LOCAL_FILE_FIELDS = re.compile(r"^(file|pdf|local-url|bdsk-file-\d+|localfile|attachments?)$")
_BOOKKEEPING = re.compile(
    r"^(owner|timestamp|date-added|date-modified|added-at|creationdate|modificationdate|urldate|"
    r"mendeley-groups|mendeley-tags|groups|ranking|readstatus|priority|qualityassured|printed|"
    r"relevance|read|rating|comment|annote|annotation|review|notes|biburl|bibsource|interhash|"
    r"intrahash|bdsk-url-\d+|ids|citation-key|shorttitle|langid|language|keywords|keywords-plus|"
    r"mesh|abstractnote|extra|eventtitle|venue|opt\w*|unique-id|da|times-cited|"
    r"usage-count-.*|number-of-cited-references|cited-references|web-of-science-\w+|"
    r"research-areas|author-email|affiliations?|orcid-numbers|researcherid-numbers|funding-\w+|"
    r"eissn|issn|isbn|art_number|article-number|source|document_type|type_publication|"
    r"publication_stage|correspondence_address\d*|abbrev_source_title|coden|pubmed_id|pmid|pmcid|"
    r"references|tradenames|manufacturers|chemicals_cas|sponsors|funding_details|funding_text.*|"
    r"numpages|articleno|issue_date|acmid|copyright|lccn|mrclass|mrnumber|mrreviewer|fjournal|"
    r"zblnumber|masid|eprintclass|archive|archive_location|library|callnumber|call-number|"
    r"file-source|x-.*|bdsk-.*|jstor_.*|keyword|author_keywords|link|pubmed|nlmuniqueid|pii|oa|pmc|"
    r"doc-delivery-number|journal-iso|adsnote|adsurl|bibcode|refid|__markedentry|bibdate|crossrefold|"
    r"eid|page_count|"
    # Web of Science's two-character field tags (UT, SN, TC, J9, C1, ...)
    r"[a-z][a-z0-9])$"
)
#: bookkeeping that some exporters write into ``note``
_NOTE_BOOKKEEPING = re.compile(r"(?i)\b(cited by:?\s*\d+|export date|times cited|publisher: \w+)")
_LOCAL_PATH = re.compile(r"(?i)(^|[\s{:;])(/Users/|/home/|/Volumes/|[a-z]:\\|file://|~/)")
#: what counts as no abstract at all (exporters and databases write these instead of leaving it empty)
_PLACEHOLDER_ABSTRACT = re.compile(
    r"(?i)^\W*(?:(?:no|not|n/?a)\b.{0,30}\babstract\b.{0,30}|abstract\W*(?:not\s+)?(?:available|"
    r"unavailable|missing|none)|not available|n/?a|none|null|tba|tbd|\[?\.\.\.\]?|…|pmid:?\s*\d+|"
    r"abstract)\W*$"
)


def is_placeholder_abstract(value: str | None) -> bool:
    """True for an empty abstract or a placeholder (``Not Available``, ``[...]``, ``PMID: 123``)."""
    if value is None:
        return True
    text = value.replace("{", "").replace("}", "").strip()
    return not text or bool(_PLACEHOLDER_ABSTRACT.match(text))


LOCAL_FILE = "a file on the user's machine (it would travel with the paper)"
LOCAL_PATH = "a local path (it would travel with the paper)"


@lru_cache(maxsize=4096)
def _reason_by_name(name: str) -> str | None:
    if _LOCAL_FILE_FIELDS.match(name):
        return LOCAL_FILE
    if name in PROMPT_FIELDS:
        return None
    if _BOOKKEEPING.match(name):
        return "reference-manager or database bookkeeping"
    return "not a field of the training layout"


def drop_reason(name: str, value: str) -> str | None:
    """Why the field ``name = value`` stays out of the prompt and the export (None: it stays)."""
    name = name.lower()
    reason = _reason_by_name(name)
    if reason == LOCAL_FILE and value.strip().lstrip("{").lower().startswith(("http://", "https://")):
        return "a link to a file, not a field of the training layout"
    if reason is not None:
        return reason
    if not value.strip():
        return "empty"
    if name == "abstract":
        return "a placeholder, not an abstract" if is_placeholder_abstract(value) else None
    if name in ("url", "howpublished", "note") and _LOCAL_PATH.search(value):
        return LOCAL_PATH
    if name == "url" and "scopus.com/inward" in value:
        return "a link to a database record, not to the work"
    if name == "note" and _NOTE_BOOKKEEPING.search(value):
        return "database bookkeeping (citation counts, export dates)"
    return None


#: fields that identify a work for enrichment (``references.enrich``) although the prompt drops them
IDENTIFIER_FIELDS = frozenset({"pmid", "arxivid", "pmcid"})


def dropped_fields(fields: dict[str, str]) -> dict[str, str]:
    """``{field: reason}`` for the parsed fields that are dropped."""
    out = {}
    for name, value in fields.items():
        reason = drop_reason(name, value)
        if reason is not None:
            out[name] = reason
    return out


def clean_entry(raw: str, drop: dict[str, str] | set[str]) -> str:
    """The entry text without the ``drop`` fields (lower case; the rest as written)."""
    return remove_fields(raw, drop)
