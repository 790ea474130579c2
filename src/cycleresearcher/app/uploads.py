"""What an uploaded file is, read from its bytes: size limits, text or PDF, JSON that parses.

Nothing here trusts a file name: an upload's type is read from its bytes (``%PDF-`` magic, valid
UTF-8 text without NUL bytes, JSON that parses), and the name only has to agree with it. Any shell
that takes files over the wire (the web page today) checks them here before a use case reads them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..latex_json import read_json

#: per-upload limits (bytes); the web caps the whole request too (web/guards.py)
MAX_BIB_BYTES = 5 * 1024 * 1024
MAX_PAPER_BYTES = 30 * 1024 * 1024
MAX_RESULTS_BYTES = 2 * 1024 * 1024

PDF_MAGIC = b"%PDF-"
#: what a results upload must be, as its messages say it
RESULTS_SHAPE = "upload a JSON list of {name, result: {table, description}} objects."
TEXT_KINDS = {".tex": "latex", ".latex": "latex", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}


def check_size(data: bytes, limit: int, what: str, size: int | None = None) -> bytes:
    """``data`` when it is within ``limit``. ``size``: the whole file's size where ``data`` is only
    its first ``limit + 1`` bytes (a shell reads no more); unknown, the message says "larger than"."""
    if len(data) > limit:
        shown = megabytes(size) if size is not None and size > limit else None
        # the size when it is known and reads as more than the limit (5.0 MB would not)
        said = f"is {shown}" if shown and shown != f"{limit / 2**20:.1f} MB" else f"is larger than {megabytes(limit)}"
        raise InputError(f"The {what} {said}; the limit is {megabytes(limit)}. Upload a smaller file.")
    return data


def megabytes(n: int) -> str:
    """A size as the limits are stated (5 MB = 5 x 2**20 bytes): whole MB, else one decimal."""
    mb = n / 2**20
    return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"


def _text(data: bytes, what: str) -> str:
    if b"\x00" in data[:65536]:
        raise InputError(f"The {what} is a binary file, not text. Upload a UTF-8 text file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"The {what} is not UTF-8 text (bad byte at offset {exc.start}). Save it as UTF-8 and upload it again."
        ) from exc


def references_bytes(data: bytes) -> bytes:
    """A .bib / .bbl / JSON upload: must be text (the references parser reports syntax errors)."""
    check_size(data, MAX_BIB_BYTES, "references file")
    if data.startswith(PDF_MAGIC):
        raise InputError(
            "The references file is a PDF. Upload a .bib file (BibTeX), a .bbl, or a paper-record .json."
        )
    _text(data, "references file")
    return data


def results_json(data: bytes) -> Any:
    """An experiment-results upload: a JSON list of {name, result}, checked by parsing it."""
    check_size(data, MAX_RESULTS_BYTES, "results file")
    text = _text(data, "results file")
    if not text.strip():
        raise InputError(
            "The results file is empty. Upload a JSON list of {name, result: {table, description}} objects."
        )
    try:
        value = read_json(text, "The results file")  # LaTeX commands in strings stay literal
    except json.JSONDecodeError as exc:
        raise InputError(
            f"The results file is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            "Upload a JSON list of {name, result: {table, description}} objects."
        ) from exc
    if not isinstance(value, (list, dict)):
        raise InputError("The results JSON must be a list (or an object) of experiments, not a single value.")
    return value


def paper_suffix(data: bytes, filename: str) -> str:
    """The file suffix a paper upload is read as, from its content; the name must not contradict it."""
    check_size(data, MAX_PAPER_BYTES, "paper")
    claimed = Path(filename).suffix.lower()
    if not data or data.isspace():
        raise InputError(f"{filename} is empty. Upload a PDF, .tex, .md or .txt paper.")
    if data.startswith(PDF_MAGIC):
        return ".pdf"
    if b"\x00" in data[:65536]:  # not text: say what is read, not only "text" (a PDF is fine too)
        what = "a Word or other zipped document" if data.startswith(b"PK\x03\x04") else "a binary file"
        raise InputError(
            f"{filename} is {what}, neither a PDF nor text. Upload a PDF, .tex, .md or .txt paper "
            "(save a Word document as PDF first)."
        )
    if claimed == ".pdf":
        raise InputError(f"{filename} is named .pdf but is not a PDF (no %PDF- header). Upload the real PDF.")
    text = _text(data, "paper")
    if not text.strip():
        raise InputError(f"{filename} is empty. Upload a PDF, .tex, .md or .txt paper.")
    if claimed in TEXT_KINDS:
        return claimed
    return ".tex" if re.search(r"\\(documentclass|section|begin\{)", text) else ".txt"
