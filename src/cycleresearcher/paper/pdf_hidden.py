"""Hidden text in a PDF: text drawn where no reader can see it, found in the page's operators.

Each page's content stream is walked once with the graphics state PDF keeps (matrix, fill and
stroke colour, rendering mode, font size, opacity, filled rectangles as backgrounds). A text
operator is hidden when its text is drawn invisibly (rendering mode 3 or 7), fully transparent,
in the colour of what lies under it (white on the page, or the colour of a filled box), smaller
than 1 pt, or outside the page's visible box; text under 6.5 pt (``\\tiny``) is hidden when it
reads like an instruction to a model. Hidden runs are decoded by pypdf itself (its fonts and
encodings): a no-op ``cm`` before and after each run makes pypdf hand the run's text to our
visitor on its own. The page then keeps a content stream with those runs emptied, so every later
reading (the text, the title) sees only what a reader sees.

Not covered: text inside form XObjects (``Do``), text clipped away, text under an image.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .hidden import HiddenText, excerpt, looks_like_instruction

Matrix = tuple[float, float, float, float, float, float]
RGB = tuple[float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
#: below this size (pt on the page) text cannot be read
MIN_PT = 1.0
#: below this size text is small print (\tiny is 5-6 pt): hidden when it reads like an instruction
SMALL_PT = 6.5
#: a run of small text shorter than this (bytes) is a sub-script, never an instruction
SMALL_MIN_BYTES = 20
NEAR = 0.1
SHOW = {b"Tj", b"TJ", b"'", b'"'}
#: what a run's separate reading keeps of its operators (no drawings, images or forms)
_TEXT_OPS = SHOW | {b"Td", b"TD", b"Tm", b"T*", b"Tf", b"TL", b"Tc", b"Tw", b"Tz", b"Ts", b"BT", b"ET", b"cm"}
MAX_BOXES = 500


def mult(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _colour(values: list[Any]) -> RGB | None:
    try:
        v = [float(x) for x in values]
    except (TypeError, ValueError):
        return None  # a pattern or a named colour: unknown, never called hidden
    if len(v) == 1:
        return (v[0], v[0], v[0])
    if len(v) == 3:
        return (v[0], v[1], v[2])
    if len(v) == 4:
        c, m, y, k = v
        return ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
    return None


def _near(a: RGB | None, b: RGB) -> bool:
    return a is not None and all(abs(x - y) <= NEAR for x, y in zip(a, b, strict=True))


@dataclass
class _State:
    ctm: Matrix = IDENTITY
    fill: RGB | None = (0.0, 0.0, 0.0)
    stroke: RGB | None = (0.0, 0.0, 0.0)
    render: int = 0
    size: float = 0.0
    fill_alpha: float = 1.0
    stroke_alpha: float = 1.0
    leading: float = 0.0
    font: Any = None  # the font resource's name


@dataclass
class _Run:
    kind: str
    ops: list[int] = field(default_factory=list)  # indices of its show operators
    size: int = 0  # bytes shown
    text: str = ""
    #: the state its first operator draws in: what a separate reading of the run starts from
    start: tuple[Matrix, Any, float, Matrix, float] = (IDENTITY, None, 0.0, IDENTITY, 0.0)


class _PageWalk:
    """The graphics state through one page's operators, and the hidden runs it finds."""

    def __init__(self, page: Any) -> None:
        box = page.cropbox
        self.box = (float(box.left), float(box.bottom), float(box.right), float(box.top))
        res = page.get("/Resources")
        res = res.get_object() if res is not None else {}
        gs = res.get("/ExtGState") if hasattr(res, "get") else None
        self.ext = gs.get_object() if gs is not None else {}
        self.state = _State()
        self.stack: list[_State] = []
        self.tm: Matrix = IDENTITY
        self.tlm: Matrix = IDENTITY
        self.path: list[list[tuple[float, float]]] = []  # the current path's subpaths (points)
        self.boxes: list[tuple[float, float, float, float, RGB]] = []
        self.runs: list[_Run] = []
        self.current: _Run | None = None  # the run the last text operator joined

    def _move(self, tx: float, ty: float) -> None:
        self.tlm = mult((1.0, 0.0, 0.0, 1.0, tx, ty), self.tlm)
        self.tm = self.tlm

    def _point(self, x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = self.state.ctm
        return (x * a + y * c + e, x * b + y * d + f)

    def _background(self, x: float, y: float) -> RGB:
        for x0, y0, x1, y1, colour in reversed(self.boxes):
            if x0 <= x <= x1 and y0 <= y <= y1:
                return colour
        return (1.0, 1.0, 1.0)

    def kind(self) -> str | None:
        """Why the text operator about to draw is hidden, or None when it is visible."""
        s = self.state
        if s.render in (3, 7):
            return "invisible-render"
        stroking = s.render in (1, 5)
        if (s.stroke_alpha if stroking else s.fill_alpha) < 0.05:
            return "transparent"
        m = mult(self.tm, s.ctm)
        x, y = m[4], m[5]
        left, bottom, right, top = self.box
        if not (left - 2 <= x <= right + 2 and bottom - 2 <= y <= top + 2):
            return "off-page"
        scale = abs(m[0] * m[3] - m[1] * m[2]) ** 0.5
        size = abs(s.size) * scale
        if size < MIN_PT:
            return "tiny-text"
        under = self._background(x, y)
        if _near(s.stroke if stroking else s.fill, under):
            return "white-text" if under == (1.0, 1.0, 1.0) else "background-colour"
        return "small-text" if size < SMALL_PT else None

    def op(self, i: int, operands: list[Any], op: bytes) -> None:
        s = self.state
        try:
            if op in SHOW:
                if op == b"'" or op == b'"':
                    self._move(0.0, -s.leading)
                shown = operands[-1] if operands else b""
                if op == b"TJ":
                    size = sum(len(x) for x in shown if isinstance(x, (bytes, str)))
                else:
                    size = len(shown) if isinstance(shown, (bytes, str)) else 0
                kind = self.kind()
                if kind is None:
                    self.current = None
                elif self.current is not None and self.current.kind == kind:
                    self.current.ops.append(i)
                    self.current.size += size
                else:
                    self.current = _Run(kind, [i], size, start=(s.ctm, s.font, s.size, self.tm, s.leading))
                    self.runs.append(self.current)
            elif op == b"q":
                self.stack.append(replace(s))
            elif op == b"Q":
                if self.stack:
                    self.state = self.stack.pop()
            elif op == b"cm":
                s.ctm = mult(tuple(float(x) for x in operands[:6]), s.ctm)  # type: ignore[arg-type]
            elif op == b"BT":
                self.tm = self.tlm = IDENTITY
            elif op == b"Tm":
                self.tm = self.tlm = tuple(float(x) for x in operands[:6])  # type: ignore[assignment]
            elif op in (b"Td", b"TD"):
                if op == b"TD":
                    s.leading = -float(operands[1])
                self._move(float(operands[0]), float(operands[1]))
            elif op == b"T*":
                self._move(0.0, -s.leading)
            elif op == b"TL":
                s.leading = float(operands[0])
            elif op == b"Tf":
                s.font, s.size = operands[0], float(operands[1])
            elif op == b"Tr":
                s.render = int(operands[0])
            elif op in (b"g", b"rg", b"k", b"sc", b"scn"):
                s.fill = _colour(operands)
            elif op in (b"G", b"RG", b"K", b"SC", b"SCN"):
                s.stroke = _colour(operands)
            elif op == b"cs":
                s.fill = (0.0, 0.0, 0.0)
            elif op == b"CS":
                s.stroke = (0.0, 0.0, 0.0)
            elif op == b"gs":
                g = self.ext.get(operands[0]) if hasattr(self.ext, "get") else None
                g = g.get_object() if g is not None else {}
                s.fill_alpha = float(g.get("/ca", s.fill_alpha))
                s.stroke_alpha = float(g.get("/CA", s.stroke_alpha))
            elif op == b"re":
                x, y, w, h = (float(v) for v in operands[:4])
                self.path.append([self._point(x, y), self._point(x + w, y + h)])
            elif op == b"m":
                self.path.append([self._point(float(operands[0]), float(operands[1]))])
            elif op in (b"l", b"c", b"v", b"y"):
                nums = [float(v) for v in operands]
                if not self.path:
                    self.path.append([])
                self.path[-1].extend(self._point(nums[k], nums[k + 1]) for k in range(0, len(nums) - 1, 2))
            elif op in (b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"):
                # each filled subpath (a box, a rounded frame) is the background of what lies on it
                if s.fill is not None and len(self.boxes) < MAX_BOXES:
                    for pts in self.path:
                        if len(pts) >= 2:
                            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                            self.boxes.append((min(xs), min(ys), max(xs), max(ys), s.fill))
                self.path = []
            elif op in (b"n", b"S", b"s"):
                self.path = []
        except (ValueError, TypeError, IndexError, KeyError, AttributeError):
            return  # a malformed operator changes nothing we track


def _emptied(operands: list[Any], op: bytes) -> list[Any]:
    from pypdf.generic import ArrayObject, ByteStringObject

    if op == b"TJ":
        return [ArrayObject()]
    return [*operands[:-1], ByteStringObject(b"")]


def _decode(page: Any, reader: Any, ops: list[tuple[Any, bytes]], runs: list[_Run]) -> None:
    """Each run's text, as pypdf decodes it (its fonts and encodings): the page is read once
    more, but only its runs, each in its own text object set up in the state it started in (a
    whole page can take a second to read; its runs a fraction of that)."""
    from pypdf.generic import ContentStream, FloatObject, NameObject

    def nums(m: Matrix) -> list[Any]:
        return [FloatObject(v) for v in m]

    segments: list[tuple[Any, bytes]] = []
    owner: list[int] = []
    for k, run in enumerate(runs):
        ctm, font, size, tm, leading = run.start
        part: list[tuple[Any, bytes]] = [([], b"q"), (nums(ctm), b"cm"), ([], b"BT")]
        if font is not None:
            part.append(([font, FloatObject(size)], b"Tf"))
        part += [([FloatObject(leading)], b"TL"), (nums(tm), b"Tm")]
        part += [item for item in ops[run.ops[0] : run.ops[-1] + 1] if item[1] in _TEXT_OPS]
        part += [([], b"ET"), ([], b"Q")]
        segments += part
        owner += [k] * len(part)
    stream = ContentStream(None, reader)
    stream.operations = segments
    page[NameObject("/Contents")] = stream
    at = [-1]
    texts: list[list[str]] = [[] for _ in runs]

    def before(_op: Any, _args: Any, _cm: Any, _tm: Any) -> None:
        at[0] += 1

    def text(t: str, *_: Any) -> None:
        if t and 0 <= at[0] < len(owner):
            texts[owner[at[0]]].append(t)

    page.extract_text(visitor_operand_before=before, visitor_text=text)
    for run, parts in zip(runs, texts, strict=True):
        run.text = " ".join(p.strip() for p in parts if p.strip())


def scan_page(page: Any, reader: Any, number: int, keep: bool = False) -> list[HiddenText]:
    """The hidden runs of one page; unless ``keep``, the page's text operators for them are
    emptied in place (the page object keeps the parsed stream, so pypdf does not parse twice)."""
    from pypdf.generic import ContentStream, NameObject

    contents = page.get("/Contents")
    if contents is None:
        return []
    stream = ContentStream(contents.get_object(), reader, "bytes")
    ops = stream.operations
    walk = _PageWalk(page)
    for i, (operands, op) in enumerate(ops):
        walk.op(i, operands, op)
    runs = [r for r in walk.runs if r.kind != "small-text" or r.size >= SMALL_MIN_BYTES]
    if not runs:
        page[NameObject("/Contents")] = stream
        return []
    _decode(page, reader, ops, runs)
    hidden = []
    for r in runs:
        if r.kind == "small-text":
            if not looks_like_instruction(r.text):
                continue
            r.kind = "tiny-text"
        hidden.append(r)
    found = [HiddenText(r.kind, f"page {number}", excerpt(r.text)) for r in hidden if r.text.strip()]
    if hidden and not keep:
        drop = {i for r in hidden for i in r.ops}
        stream.operations = [(_emptied(o, op), op) if i in drop else (o, op) for i, (o, op) in enumerate(ops)]
    page[NameObject("/Contents")] = stream
    return found


def scan_pages(reader: Any, keep: bool = False) -> list[HiddenText]:
    """Every page's hidden text (a page whose operators cannot be read is left as it is)."""
    found: list[HiddenText] = []
    for n, page in enumerate(reader.pages, 1):
        try:
            found += scan_page(page, reader, n, keep)
        except Exception:  # a broken page must not stop the text: pypdf reads it as before
            continue
    return found


_FIELDS = (("/Title", "metadata-title"), ("/Subject", "metadata-subject"), ("/Keywords", "metadata-keywords"),
           ("/Author", "metadata-author"), ("/Creator", "metadata-creator"))  # fmt: skip


def metadata_findings(reader: Any, visible_title: str, title_differs: bool) -> list[HiddenText]:
    """Metadata no reader of the page sees: a title that differs from the visible one
    (``title_differs``), and any field that reads like an instruction to a model."""
    try:
        meta = reader.metadata or {}
    except Exception:
        return []
    found = []
    for key, kind in _FIELDS:
        try:
            value = str(meta.get(key) or "").strip()
        except Exception:
            continue
        if not value:
            continue
        if key == "/Title" and title_differs:
            found.append(
                HiddenText(kind, "PDF metadata /Title", excerpt(f"{value} (the page shows: {visible_title})"))
            )
        elif looks_like_instruction(value):
            found.append(HiddenText(kind, f"PDF metadata {key}", excerpt(value)))
    return found


__all__ = ["metadata_findings", "scan_page", "scan_pages"]
