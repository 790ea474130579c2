"""Hidden text in LaTeX: what TeX typesets where no reader can see it, and what it never typesets.

Typeset but invisible: text coloured like the page (``\\textcolor{white}``, ``{\\color[rgb]{1,1,1}
...}``, a colour ``\\definecolor``'d or ``\\colorlet`` to white or to the ``\\pagecolor``), text
below 1 pt (``\\fontsize{0.1pt}``, ``\\scalebox{0.01}``, a ``\\resizebox`` to nothing), fully
transparent or invisibly rendered text (``\\texttransparent{0}``, ``\\textpdfrender``), and
``\\phantom`` boxes; ``\\tiny`` text that reads like an instruction to a model. Never typeset:
comments and switched-off text (``latex_text.switch_off``), listed here when it reads like one.

Pure functions over source text; ``latex_project`` calls them while it reads a project.
"""

from __future__ import annotations

import re

from ..latex import COMMENT, group_end
from .hidden import HiddenText, excerpt, looks_like_instruction, scan_characters, worth_listing

# -- colours --------------------------------------------------------------------------------------
#: xcolor's base colours (the ones a mix can name without a definition)
BASE_COLOURS: dict[str, tuple[float, float, float]] = {
    "white": (1, 1, 1), "black": (0, 0, 0), "red": (1, 0, 0), "green": (0, 1, 0), "blue": (0, 0, 1),
    "cyan": (0, 1, 1), "magenta": (1, 0, 1), "yellow": (1, 1, 0), "gray": (0.5, 0.5, 0.5),
    "grey": (0.5, 0.5, 0.5), "lightgray": (0.75, 0.75, 0.75), "lightgrey": (0.75, 0.75, 0.75),
    "darkgray": (0.25, 0.25, 0.25), "brown": (0.75, 0.5, 0.25), "lime": (0.75, 1, 0),
    "olive": (0.5, 0.5, 0), "orange": (1, 0.5, 0), "pink": (1, 0.75, 0.75), "purple": (0.75, 0, 0.25),
    "teal": (0, 0.5, 0.5), "violet": (0.5, 0, 0.5),
}  # fmt: skip
RGB = tuple[float, float, float]
#: text within this distance (per channel, 0-1) of the background cannot be read
NEAR = 0.1


def model_colour(model: str, spec: str) -> RGB | None:
    """A colour given by model and values (``rgb`` ``1,1,1``; ``HTML`` ``FFFFFF``; ``gray`` ``1``;
    ``RGB`` ``255,255,255``; ``cmyk`` ``0,0,0,0``), or None when it cannot be read."""
    model, spec = model.strip(), spec.strip()
    try:
        if model.upper() == "HTML":
            h = spec.lstrip("#")
            return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255)
        vals = [float(v) for v in re.split(r"[\s,]+", spec) if v]
        if model == "gray" and len(vals) == 1:
            return (vals[0],) * 3  # type: ignore[return-value]
        if model in ("rgb", "RGB") and len(vals) == 3:
            scale = 255.0 if model == "RGB" else 1.0
            return (vals[0] / scale, vals[1] / scale, vals[2] / scale)
        if model == "cmyk" and len(vals) == 4:
            c, m, y, k = vals
            return ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
        if model == "cmy" and len(vals) == 3:
            return (1 - vals[0], 1 - vals[1], 1 - vals[2])
    except (ValueError, IndexError):
        return None
    return None


def named_colour(expr: str, defined: dict[str, RGB]) -> RGB | None:
    """An xcolor expression (``white``, ``black!0``, ``white!90!black``, ``mycolor``) as RGB."""
    parts = [p.strip() for p in expr.strip().lstrip("-").split("!")]
    if not parts or not parts[0]:
        return None

    def lookup(name: str) -> RGB | None:
        return defined.get(name) or BASE_COLOURS.get(name)

    colour = lookup(parts[0])
    if colour is None:
        return None
    i = 1
    while i < len(parts):
        try:
            share = max(0.0, min(100.0, float(parts[i]))) / 100
        except ValueError:
            return None
        other = lookup(parts[i + 1]) if i + 1 < len(parts) else BASE_COLOURS["white"]
        if other is None:
            return None
        colour = tuple(share * a + (1 - share) * b for a, b in zip(colour, other, strict=True))  # type: ignore[assignment]
        i += 2
    return colour


_DEFINE = re.compile(r"\\definecolor\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}\s*\{([^}]*)\}\s*\{([^}]*)\}")
_COLORLET = re.compile(r"\\colorlet\s*\{([^}]*)\}\s*\{([^}]*)\}")
_PAGECOLOR = re.compile(r"\\pagecolor\s*(?:\[([^\]]*)\])?\s*\{([^}]*)\}")


def read_colours(text: str) -> tuple[dict[str, RGB], RGB]:
    """The colours ``text`` defines, in order, and the page colour (white unless ``\\pagecolor``)."""
    defined: dict[str, RGB] = {}
    events = sorted(
        [(m.start(), "define", m) for m in _DEFINE.finditer(text)]
        + [(m.start(), "let", m) for m in _COLORLET.finditer(text)]
    )
    for _pos, what, m in events:
        if what == "define":
            # several models may be given ("rgb/cmyk"): the first one is enough to see the colour
            model, spec = m.group(2).split("/")[0], m.group(3).split("/")[0]
            colour = model_colour(model, spec)
        else:
            colour = named_colour(m.group(2), defined)
        if colour is not None:
            defined[m.group(1).strip()] = colour
    page: RGB = (1.0, 1.0, 1.0)
    for m in _PAGECOLOR.finditer(text):
        colour = model_colour(m.group(1), m.group(2)) if m.group(1) else named_colour(m.group(2), defined)
        page = colour or page
    return defined, page


def _invisible(colour: RGB | None, page: RGB) -> bool:
    return colour is not None and all(abs(a - b) <= NEAR for a, b in zip(colour, page, strict=True))


# -- scanning a body ------------------------------------------------------------------------------
_HIDERS = re.compile(
    r"\\(textcolor|color|fontsize|scalebox|resizebox\*?|phantom|hphantom|vphantom|tiny"
    r"|texttransparent|transparent|textpdfrender|pdfrender)(?![A-Za-z@])"
    r"|\\begin\s*\{(tiny)\}"
)
_DIM = re.compile(r"^\s*(-?[\d.]+)\s*(pt|bp|mm|cm|in|px|sp|em|ex|dd|pc)?\s*$")
_PT = {"pt": 1.0, "bp": 1.00375, "mm": 2.84527, "cm": 28.4527, "in": 72.27, "px": 1.0, "sp": 1 / 65536,
       "em": 10.0, "ex": 4.3, "dd": 1.07, "pc": 12.0, None: 1.0}  # fmt: skip
_FRACTION = re.compile(
    r"^\s*(-?[\d.]*)\s*\\(?:textwidth|linewidth|columnwidth|textheight|paperwidth|hsize)\s*$"
)
#: text set smaller than this (in pt) cannot be read
MIN_PT = 1.0


def _points(dim: str) -> float | None:
    m = _DIM.match(dim)
    if m:
        try:
            return abs(float(m.group(1))) * _PT[m.group(2)]
        except ValueError:
            return None
    m = _FRACTION.match(dim)
    if m:  # a share of the text width (about 345 pt)
        try:
            return abs(float(m.group(1) or 1)) * 345
        except ValueError:
            return None
    return None


def _skip_space(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t\n":
        i += 1
    return i


def _optional(s: str, i: int) -> tuple[str | None, int]:
    i = _skip_space(s, i)
    if i < len(s) and s[i] == "[":
        end = s.find("]", i)
        if end > 0:
            return s[i + 1 : end], end + 1
    return None, i


def _braced(s: str, i: int) -> tuple[str | None, int, int]:
    """The group at ``i`` (after spaces): its content, its start and the index after it."""
    i = _skip_space(s, i)
    if i >= len(s) or s[i] != "{":
        return None, i, i
    end = group_end(s, i)
    if end is None:
        return s[i + 1 :], i, len(s)
    return s[i + 1 : end], i, end + 1


_ENV = re.compile(r"\\(begin|end)\s*\{[^}]*\}")


def declaration_end(s: str, i: int) -> int:
    """Where a declaration at ``i`` (``\\color{white}``) stops: before the ``}`` or ``\\end{...}``
    closing its group, else at the end of the text."""
    depth, j = 0, i
    while j < len(s):
        c = s[j]
        if c == "\\":
            m = _ENV.match(s, j)
            if m:
                if m.group(1) == "begin":
                    depth += 1
                elif depth == 0:
                    return j
                else:
                    depth -= 1
                j = m.end()
                continue
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return j
            depth -= 1
        j += 1
    return len(s)


def _colour_arg(s: str, i: int, defined: dict[str, RGB]) -> tuple[RGB | None, int]:
    model, i = _optional(s, i)
    spec, _start, i = _braced(s, i)
    if spec is None:
        return None, i
    return (model_colour(model, spec) if model else named_colour(spec, defined)), i


Span = tuple[int, int, str, str]  # start, end, kind, hidden text


def _hider(s: str, m: re.Match[str], defined: dict[str, RGB], page: RGB) -> Span | None:
    """The span a hiding command at ``m`` hides, or None when it hides nothing."""
    name = m.group(1) or m.group(2)
    start, i = m.start(), m.end()
    if m.group(2):  # \begin{tiny} ... \end{tiny}
        end = s.find("\\end{tiny}", i)
        end = len(s) if end < 0 else end + len("\\end{tiny}")
        body = s[i : end - len("\\end{tiny}")]
        return (start, end, "tiny-text", body) if looks_like_instruction(body) else None
    if name == "textcolor":
        colour, i = _colour_arg(s, i, defined)
        body, _b, end = _braced(s, i)
        if body is not None and _invisible(colour, page):
            return start, end, "white-text" if page == (1.0, 1.0, 1.0) else "background-colour", body
        return None
    if name == "color":
        colour, i = _colour_arg(s, i, defined)
        if _invisible(colour, page):
            end = declaration_end(s, i)
            return start, end, "white-text" if page == (1.0, 1.0, 1.0) else "background-colour", s[i:end]
        return None
    if name == "fontsize":
        size, _a, i = _braced(s, i)
        _skip, _b, i = _braced(s, i)
        pts = _points(size or "")
        if pts is not None and pts < MIN_PT:
            i = _skip_space(s, i)
            i += len("\\selectfont") if s.startswith("\\selectfont", i) else 0
            end = declaration_end(s, i)
            return start, end, "tiny-text", s[i:end]
        return None
    if name == "scalebox":
        factor, _a, i = _braced(s, i)
        vfactor, i = _optional(s, i)
        body, _b, end = _braced(s, i)
        try:
            small = min(abs(float(f)) for f in [factor or "1", *([vfactor] if vfactor else [])]) < MIN_PT / 10
        except ValueError:
            return None
        return (start, end, "tiny-text", body) if body is not None and small else None
    if name.startswith("resizebox"):
        width, _a, i = _braced(s, i)
        height, _b, i = _braced(s, i)
        body, _c, end = _braced(s, i)
        sizes = [p for p in (_points(width or ""), _points(height or "")) if p is not None]
        if body is not None and sizes and min(sizes) < MIN_PT * 2:
            return start, end, "tiny-text", body
        return None
    if name in ("phantom", "hphantom", "vphantom"):
        body, _b, end = _braced(s, i)
        return (start, end, "phantom", body) if body is not None else None
    if name == "tiny":
        body, b, end = _braced(s, i)
        if body is None or b != _skip_space(s, i):  # \tiny as a declaration: to its group's end
            end = declaration_end(s, i)
            body = s[i:end]
        return (start, end, "tiny-text", body) if looks_like_instruction(body) else None
    if name in ("texttransparent", "transparent"):
        alpha, _a, i = _braced(s, i)
        try:
            clear = float(alpha or "1") < 0.1
        except ValueError:
            return None
        if not clear:
            return None
        if name == "texttransparent":
            body, _b, end = _braced(s, i)
            return (start, end, "transparent", body) if body is not None else None
        end = declaration_end(s, i)
        return start, end, "transparent", s[i:end]
    if name in ("textpdfrender", "pdfrender"):
        keys, _a, i = _braced(s, i)
        if not re.search(r"TextRenderingMode\s*=\s*(?:3|7|Invisible|Clip)\b", keys or ""):
            return None
        if name == "textpdfrender":
            body, _b, end = _braced(s, i)
            return (start, end, "invisible-render", body) if body is not None else None
        end = declaration_end(s, i)
        return start, end, "invisible-render", s[i:end]
    return None


def scan_body(
    text: str, defined: dict[str, RGB], page: RGB, where: str, keep: bool = False, raw: str | None = None
) -> tuple[str, list[HiddenText]]:
    """``text`` without what it typesets invisibly (kept with ``keep``), and one finding per
    piece; nested hiding counts once (the outermost). A macro's template (``#1`` in the hidden
    text) is left for the scan after expansion. Lines are counted in ``raw`` (the file as
    written) where the piece is found there, else in ``text``."""
    if "\\" not in text:
        return text, []
    spans: list[Span] = []
    last_end = -1
    for m in _HIDERS.finditer(text):
        if m.start() < last_end:
            continue  # inside a span already hidden
        span = _hider(text, m, defined, page)
        if span is not None and not re.search(r"#\d", span[3]):
            spans.append(span)
            last_end = span[1]
    found, out, pos = [], [], 0
    for start, end, kind, body in spans:
        # a \phantom{000} in a table aligns digits: its content is never shown, but not worth a line
        if kind != "phantom" or worth_listing(body):
            pos_raw = raw.find(text[start : min(end, start + 40)]) if raw else -1
            line = raw.count("\n", 0, pos_raw) + 1 if raw and pos_raw >= 0 else text.count("\n", 0, start) + 1
            found.append(HiddenText(kind, f"{where}, line {line}", excerpt(body)))
        out.append(text[pos:start])
        if keep:
            out.append(text[start:end])
        pos = end
    out.append(text[pos:])
    return "".join(out), found


# -- never typeset: comments and switched-off text ------------------------------------------------
def comment_findings(raw: str, where: str) -> list[HiddenText]:
    """%-comments of ``raw`` (runs of comment lines read together) that read like an instruction."""
    found = []
    block: list[str] = []
    first = 0
    for n, line in enumerate([*raw.split("\n"), ""], 1):
        m = COMMENT.search(line)
        if m and line[: m.start()].strip() == "":
            first = first or n
            block.append(m.group(0)[1:])
            continue
        if m and looks_like_instruction(m.group(0)):  # a comment after text stands alone
            found.append(HiddenText("comment", f"{where}, line {n}", excerpt(m.group(0)[1:])))
        if block and looks_like_instruction(" ".join(block)):
            found.append(HiddenText("comment", f"{where}, line {first}", excerpt(" ".join(block))))
        block, first = [], 0
    return found


def switched_off_findings(raw: str, pieces: list[str], where: str) -> list[HiddenText]:
    """The switched-off ``pieces`` (``\\iffalse`` branches, ``comment`` environments) that read
    like an instruction, located in ``raw`` by their first words."""
    found = []
    for piece in pieces:
        if not looks_like_instruction(piece):
            continue
        probe = piece.strip()[:40]
        pos = raw.find(probe) if probe else -1
        line = f", line {raw.count(chr(10), 0, pos) + 1}" if pos >= 0 else ""
        inner = re.sub(r"^\s*\\begin\s*\{[^}]*\}|\\end\s*\{[^}]*\}\s*$", "", piece)  # the environment's text
        found.append(HiddenText("switched-off", f"{where}{line}", excerpt(inner)))
    return found


def scan_latex_text(text: str, where: str, keep: bool = False) -> tuple[str, list[HiddenText]]:
    """One LaTeX text that is no project (a Paper JSON's ``latex``, a generated paper): hidden
    characters and invisibly typeset text out, and comments or switched-off text out when one of
    them reads like an instruction (else the text stays byte for byte as it was)."""
    from ..latex import strip_comments
    from .latex_text import switch_off

    text, found = scan_characters(text, where, keep)
    comments = comment_findings(text, where)
    if comments and not keep:
        text = strip_comments(text, drop_comment_lines=True)
    dropped: list[str] = []
    switched = switch_off(text, {}, [], dropped)
    off = switched_off_findings(text, dropped, where)
    if off and not keep:
        text = switched
    defined, page = read_colours(text)
    text, typeset = scan_body(text, defined, page, where, keep, text)
    text, by_macro = _through_macros(text, defined, page, where, keep)
    seen = {h.excerpt for h in typeset}
    return text, found + comments + off + typeset + [h for h in by_macro if h.excerpt not in seen]


def _through_macros(
    text: str, defined: dict[str, RGB], page: RGB, where: str, keep: bool
) -> tuple[str, list[HiddenText]]:
    """Hiding done by the text's own macros (``\\newcommand{\\hide}[1]{\\textcolor{white}{#1}}``):
    only those macros are expanded, and only when they hide something."""
    from .latex_macros import expand, expandable, read_definitions, remove_spans

    if "\\newcommand" not in text and "\\def" not in text and "command" not in text:
        return text, []
    macros, spans = read_definitions(text)
    hiding = {n: m for n, m in expandable(macros).items() if _HIDERS.search(m.body)}
    if not hiding:
        return text, []
    shown, found = scan_body(expand(remove_spans(text, spans), hiding), defined, page, where, keep)
    found = [HiddenText(h.kind, f"{where}, through a macro", h.excerpt) for h in found]
    return (text if keep or not found else shown), found


__all__ = [
    "BASE_COLOURS",
    "comment_findings",
    "declaration_end",
    "model_colour",
    "named_colour",
    "read_colours",
    "scan_body",
    "scan_latex_text",
    "switched_off_findings",
]
