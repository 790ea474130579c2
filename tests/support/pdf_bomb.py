"""Hand-written PDFs for the reading-budget tests: a small text PDF and a "PDF bomb" whose pages all
share one small compressed stream that decompresses to megabytes of text operators.

Written byte by byte (objects, a cross-reference table, a trailer), so the bomb is exactly what a
hostile upload can be: a valid PDF that pypdf reads, page by page, at seconds a page.
"""

from __future__ import annotations

import zlib


def _pdf(page_contents: list[int], streams: dict[int, bytes], first_stream: int) -> bytes:
    """A PDF whose page k shows stream object ``page_contents[k]`` (numbers from ``first_stream``)."""
    objects: dict[int, bytes] = {}
    pages = len(page_contents)
    page_ids = list(range(4, 4 + pages))
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)
    objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    for pid, content in zip(page_ids, page_contents, strict=True):
        objects[pid] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content
        )
    for number, raw in streams.items():
        packed = zlib.compress(raw, 9)
        objects[number] = (
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def _text_ops(lines: list[str]) -> bytes:
    ops = [b"BT /F1 11 Tf 72 740 Td"]
    for line in lines:
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(b"(%s) Tj 0 -14 Td" % safe.encode("latin-1"))
    ops.append(b"ET")
    return b"\n".join(ops)


def text_pdf(pages: list[list[str]]) -> bytes:
    """A small ordinary PDF: one content stream a page, each line shown as text."""
    first = 4 + len(pages)
    streams = {first + k: _text_ops(lines) for k, lines in enumerate(pages)}
    return _pdf([first + k for k in range(len(pages))], streams, first)


def bomb_pdf(pages: int = 20, stream_mb: float = 5.0) -> bytes:
    """``pages`` pages sharing ONE content stream of ``stream_mb`` MB of text operators: about
    21 KB on disk for 20 pages of 5 MB (deflate makes at most 258 bytes of a match)."""
    line = b"BT /F1 9 Tf 72 700 Td (All work and no play makes a dull reviewer.) Tj ET\n"
    raw = line * int(stream_mb * 2**20 // len(line))
    first = 4 + pages
    return _pdf([first] * pages, {first: raw}, first)


__all__ = ["bomb_pdf", "text_pdf"]
