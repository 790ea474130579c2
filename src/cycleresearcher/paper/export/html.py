"""A paper as HTML, as the web page shows it: its LaTeX split into sections, each rendered as
paragraphs, lists, tables as HTML tables, figure and table captions numbered, ``\\ref`` as those
numbers, ``\\cite`` as author-year labels from the paper's references, ``\\textbf`` / ``\\emph`` as
``<strong>`` / ``<em>``, math readable (html_math.py), numbers that match no supplied result marked.

The model's text is hostile: every piece of it is escaped with ``html.escape`` before any tag is
put around it. What comes out is safe HTML as ``str``; the web page marks it safe for its templates.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from ...latex import ACCENT, GREEK_LETTERS, LETTER, accent, group_end, letter, strip_comments
from ..latex_text import FIGURES, TABLES, TABULARS, captions, cell_text, drop_drawings, env_spans
from .html_math import SYMBOLS, math_html

LISTS = ("itemize", "enumerate", "description")
EQUATIONS = ("equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*",
             "flalign", "flalign*", "eqnarray", "eqnarray*")  # fmt: skip
#: equation environments whose ``\\`` starts a new row, each row numbered
MULTIROW = ("align", "gather", "flalign", "eqnarray")
_NONUMBER = re.compile(r"\\(?:nonumber|notag)\b")
_ROW_TOKEN = re.compile(r"\\\\(?:\s*\[[^\]]*\])?|\\(begin|end)\s*\{[^{}]*\}|[{}]|\\.", re.S)
_LABEL = re.compile(r"\\label\s*\{([^{}]*)\}")
_NAME = re.compile(r"\\([A-Za-z]+)\*?|\\(.)", re.S)
_OPT = re.compile(r"\s*\[[^\]]*\]")
_STYLE = {
    "paragraph": "strong",
    "textbf": "strong",
    "emph": "em",
    "textit": "em",
    "underline": "u",
    "texttt": "code",
}
_TEXT = {"ldots": "…", "dots": "…", "LaTeX": "LaTeX", "TeX": "TeX", "textendash": "–",
         "textemdash": "—", "textasciitilde": "~", "textbackslash": "\\", "checkmark": "✓",
         "newline": " ", "par": "\n\n", "noindent": "", "centering": "", "item": ""}  # fmt: skip
_DROP = (
    "vspace",
    "hspace",
    "includegraphics",
    "caption",
    "label",
    "thanks",
    "author",
    "date",
    "usepackage",
    "documentclass",
    "bibliographystyle",
    "bibliography",
    "affiliation",
    "email",
)
_CITES = re.compile(r"(?:[cC]ite[tp]?|[cC]itealp|citeauthor|citeyear|parencite|textcite|autocite)\*?")
_REFS = re.compile(r"(?:auto|c|C|eq|name)?ref|pageref")
#: math symbols a model writes in running text (``Acc.~\uparrow``): printed, not dropped
_TEXT_SYMBOLS = {k: v for k, v in {**SYMBOLS, **GREEK_LETTERS}.items() if k.isalpha() and not v.isascii()}
_SAFE_URL = re.compile(r"(?:https?://|mailto:)[^\s\"'<>]+", re.I)


@dataclass
class Context:
    """What the whole paper knows: labels -> numbers, citation keys -> labels."""

    labels: dict[str, str] = field(default_factory=dict)
    #: label -> "Figure" / "Table" / "Equation" / "Section", for \\cref and \\autoref
    kinds: dict[str, str] = field(default_factory=dict)
    cites: dict[str, str] = field(default_factory=dict)


def number_labels(latex: str, kinds_out: dict[str, str] | None = None) -> dict[str, str]:
    """Every ``\\label`` of a figure, table, equation or section, with the number LaTeX gives it
    (``kinds_out`` gets each label's kind)."""
    labels: dict[str, str] = {}
    kind_of = {} if kinds_out is None else kinds_out
    for word, kinds in (("Figure", FIGURES), ("Table", TABLES)):
        spans = env_spans(latex, tuple(k for k in kinds if not k.startswith("sub")))
        for n, (start, end, _name, _b) in enumerate(spans, 1):
            for m in _LABEL.finditer(latex, start, end):
                labels.setdefault(m.group(1).strip(), str(n))
                kind_of.setdefault(m.group(1).strip(), word)
    eq = 0  # as LaTeX counts: each numbered row of an align, none for a starred environment
    for _start, end, name, body_start in env_spans(latex, EQUATIONS):
        for row in equation_rows(name, latex[body_start:end]):
            numbered = not name.endswith("*") and not _NONUMBER.search(row)
            eq += numbered
            for m in _LABEL.finditer(row):
                labels.setdefault(m.group(1).strip(), str(eq) if numbered else "")
                kind_of.setdefault(m.group(1).strip(), "Equation")
    sec = sub = 0
    for m in re.finditer(r"\\(section|subsection)\*?\s*\{|\\label\s*\{([^{}]*)\}", latex):
        if m.group(1) == "section":
            sec, sub = sec + 1, 0
        elif m.group(1):
            sub += 1
        elif m.group(2).strip() not in labels:
            labels[m.group(2).strip()] = f"{sec}.{sub}" if sub else str(sec)
            kind_of[m.group(2).strip()] = "Section"
    return labels


def cite_labels(bib: str | None) -> dict[str, str]:
    """Citation keys -> "Vaswani et al., 2017" (first author's surname, year) from BibTeX."""
    if not bib:
        return {}
    from ...latex import plain_title
    from ...references.bibtex import parse_bibtex

    out = {}
    for ref in parse_bibtex(bib, "references", strict=False).references:
        fields = {k.lower(): v for k, v in ref.fields.items()}
        authors = [a.strip() for a in plain_title(fields.get("author", "")).split(" and ") if a.strip()]
        if not authors:
            continue
        first = authors[0].split(",")[0].strip() if "," in authors[0] else authors[0].split()[-1]
        who = (
            first
            if len(authors) == 1
            else f"{first} and {_surname(authors[1])}"
            if len(authors) == 2
            else f"{first} et al."
        )
        year = plain_title(fields.get("year", ""))
        out[ref.key] = f"{who}, {year}" if year else who
    return out


def equation_rows(name: str, body: str) -> list[str]:
    """The rows of a display equation: split at its top-level ``\\\\`` for an ``align`` or
    ``gather`` (not inside a nested ``aligned`` or ``cases``), the whole body otherwise."""
    if name.rstrip("*") not in MULTIROW:
        return [body]
    rows, depth, start = [], 0, 0
    for m in _ROW_TOKEN.finditer(body):
        token = m.group(0)
        if token.startswith("\\\\"):
            if depth == 0:
                rows.append(body[start : m.start()])
                start = m.end()
        elif m.group(1) == "begin" or token == "{":
            depth += 1
        elif m.group(1) == "end" or token == "}":
            depth -= 1
    rows.append(body[start:])
    return [r for r in rows if r.strip()]


def _surname(name: str) -> str:
    return name.split(",")[0].strip() if "," in name else name.split()[-1]


def _arg(s: str, i: int) -> tuple[str, int]:
    m = _OPT.match(s, i)
    while m:  # optional arguments are skipped
        i = m.end()
        m = _OPT.match(s, i)
    while i < len(s) and s[i] in " \n":
        i += 1
    if i < len(s) and s[i] == "{":
        end = group_end(s, i)
        return (s[i + 1 :], len(s)) if end is None else (s[i + 1 : end], end + 1)
    return "", i


def _math_end(s: str, i: int, close: str) -> int:
    j = i
    while True:
        j = s.find(close, j)
        if j < 0 or s[j - 1] != "\\":
            return j
        j += 1


def inline(s: str, ctx: Context, depth: int = 0) -> str:
    """Running text as escaped HTML."""
    if depth > 30:
        return html.escape(s)
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "$" or s.startswith(("\\(", "\\["), i):
            piece, i = _math(s, i)
        elif c == "\\":
            piece, i = _command(s, i, ctx, depth)
        elif c in "{}":
            piece, i = "", i + 1
        elif c == "~":
            piece, i = "&nbsp;", i + 1
        else:
            j = i
            while j < n and s[j] not in "$\\{}~":
                j += 1
            text = s[i:j].replace("---", "—").replace("--", "–").replace("``", "“").replace("''", "”")
            piece, i = html.escape(text), j
        out.append(piece)
    return "".join(out)


def _math(s: str, i: int) -> tuple[str, int]:
    """The inline math that opens at ``s[i]`` (``$``, ``$$``, ``\\(`` or ``\\[``), and where it ends."""
    n = len(s)
    close = {"$": "$$" if s.startswith("$$", i) else "$", "\\(": "\\)", "\\[": "\\]"}
    key = "$" if s[i] == "$" else s[i : i + 2]
    start = i + (len(close[key]) if key == "$" else 2)
    end = _math_end(s, start, close[key])
    end = n if end < 0 else end
    return f'<span class="math">{math_html(s[start:end])}</span>', end + (len(close[key]) if end < n else 0)


def _command(s: str, i: int, ctx: Context, depth: int) -> tuple[str, int]:
    """The command at ``s[i]`` (a backslash) as escaped HTML, and where it ends."""
    m = ACCENT.match(s, i) or LETTER.match(s, i)
    if m:  # Bogad\'{o}ttir, Stra\ss e
        return html.escape(accent(m) if m.re is ACCENT else letter(m)), m.end()
    m = _NAME.match(s, i)
    if not m:
        return "", i + 1
    name, single = m.group(1), m.group(2)
    i = m.end()
    if single is not None:
        return ("<br>" if single == "\\" else " " if single in ",;: \n" else html.escape(single)), i
    if name in _STYLE:
        a, i = _arg(s, i)
        return f"<{_STYLE[name]}>{inline(a, ctx, depth + 1)}</{_STYLE[name]}>", i
    if _CITES.fullmatch(name):
        a, i = _arg(s, i)
        keys = [k.strip() for k in a.split(",") if k.strip()]
        return "[" + "; ".join(html.escape(ctx.cites.get(k, k)) for k in keys) + "]", i
    if _REFS.fullmatch(name):
        a, i = _arg(s, i)
        return html.escape(", ".join(_ref(name, key, ctx) for key in (k.strip() for k in a.split(",")) if key)), i
    if name in ("url", "href"):
        url, i = _arg(s, i)
        text = html.escape(url)
        if name == "href":
            a, i = _arg(s, i)
            text = inline(a, ctx, depth + 1)
        return _link(url, text, code=name == "url"), i
    if name == "footnote":  # beside its place, in parentheses, as the reader of the PDF sees it
        a, i = _arg(s, i)
        return f' <small class="footnote">({inline(a.strip(), ctx, depth + 1)})</small>', i
    if name in _DROP:
        return "", _arg(s, i)[1]
    if name in _TEXT:
        return html.escape(_TEXT[name]), i
    if name in _TEXT_SYMBOLS:
        return html.escape(_TEXT_SYMBOLS[name]), i
    # any other command: its name and options go, its argument is read as text
    m = _OPT.match(s, i)
    return "", m.end() if m else i


def _link(url: str, text: str, code: bool) -> str:
    """A link to ``url`` around the (escaped) ``text``; only a web or mail address is linked (a
    model's ``javascript:`` stays text)."""
    url = re.sub(r"\\([%#_&~$])", r"\1", url.strip())
    shown = f"<code>{text}</code>" if code else text
    if not _SAFE_URL.fullmatch(url):
        return shown
    return f'<a href="{html.escape(url, quote=True)}" rel="nofollow noopener noreferrer">{shown}</a>'


def _ref(command: str, key: str, ctx: Context) -> str:
    """What ``\\ref{key}`` (or ``\\eqref``, ``\\cref``, ...) prints: the number, "(3)" or "Table 2"."""
    number = ctx.labels.get(key, "??")
    kind = ctx.kinds.get(key, "")
    if command == "eqref" or (kind == "Equation" and command in ("cref", "Cref", "autoref")):
        number = f"({number})"
    if command in ("cref", "Cref", "autoref") and kind:
        number = f"{'Eq.' if kind == 'Equation' else kind} {number}"
    return number


def _list(name: str, body: str, ctx: Context, depth: int) -> str:
    items = re.split(r"\\item\b\s*(?:\[([^\]]*)\])?", body)
    tag = {"itemize": "ul", "enumerate": "ol", "description": "ul"}[name]
    lis = []
    for k in range(1, len(items), 2):
        term = f"<strong>{inline(items[k], ctx)}</strong> " if items[k] else ""
        lis.append(f"<li>{term}{blocks(items[k + 1], ctx, depth + 1)}</li>")
    return f"<{tag}>{''.join(lis)}</{tag}>"


def _table_html(name: str, body: str, ctx: Context) -> str:
    rows = [r.split(" | ") for r in cell_text(name, body).split("\n") if r.strip()]
    if not rows:
        return ""
    head = "".join(f"<th>{inline(c, ctx)}</th>" for c in rows[0])
    rest = "".join("<tr>" + "".join(f"<td>{inline(c, ctx)}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{rest}</tbody></table>'


def _float(kind: str, body: str, ctx: Context, number: str) -> str:
    caption = " ".join(captions(body))
    tables = "".join(
        _table_html(n, body[b : body.rfind("\\end", b, e)], ctx) for _s, e, n, b in env_spans(body, TABULARS)
    )
    cap = f"<figcaption><strong>{kind} {html.escape(number)}.</strong> {inline(caption, ctx)}</figcaption>"
    return f'<figure class="{kind.lower()}">{cap if kind == "Table" else ""}{tables}{cap if kind == "Figure" else ""}</figure>'


def blocks(latex: str, ctx: Context, depth: int = 0) -> str:
    """Block-level LaTeX (environments, paragraphs) as escaped HTML."""
    if depth > 8:  # lists nested deeper than LaTeX allows (4): a hostile nest, shown as text
        return f"<p>{html.escape(latex)}</p>"
    out: list[str] = []
    pos = 0
    for start, end, name, body_start in env_spans(latex, LISTS + FIGURES + TABLES + TABULARS + EQUATIONS):
        out.append(_paragraphs(latex[pos:start], ctx))
        body = latex[body_start : max(latex.rfind("\\end", body_start, end), body_start)]
        label = _LABEL.search(body)
        number = ctx.labels.get(label.group(1).strip(), "") if label else ""
        if name in LISTS:
            out.append(_list(name, body, ctx, depth))
        elif name in FIGURES or name in TABLES:
            out.append(_float("Figure" if name in FIGURES else "Table", body, ctx, number))
        elif name in TABULARS:
            out.append(_table_html(name, body, ctx))
        else:
            out.append(_equation(name, body, ctx))
        pos = end
    out.append(_paragraphs(latex[pos:], ctx))
    return "".join(out)


def _equation(name: str, body: str, ctx: Context) -> str:
    """A display equation, one line per row (an ``align``'s rows), each with its number when
    labelled."""
    lines = []
    for row in equation_rows(name, body):
        label = _LABEL.search(row)
        number = ctx.labels.get(label.group(1).strip(), "") if label else ""
        tex = _NONUMBER.sub("", _LABEL.sub("", row)).replace("&", " ")
        tag = f' <span class="eqno">({html.escape(number)})</span>' if number else ""
        lines.append(f'<div class="math display">{math_html(tex.strip())}{tag}</div>')
    return "".join(lines)


def _paragraphs(text: str, ctx: Context) -> str:
    text = re.sub(r"\\(?:begin|end)\s*\{[^{}]*\}", "", text)
    parts = (inline(p.strip(), ctx) for p in re.split(r"\n\s*\n|\\par\b", text) if p.strip())
    return "".join(f"<p>{p}</p>" for p in parts if p.strip())


_DOCUMENT = re.compile(r"\\begin\s*\{document\}(.*?)(?:\\end\s*\{document\}|\Z)", re.S)


def document_body(latex: str) -> str:
    """A whole document's body (its preamble and what follows ``\\end{document}`` left out)."""
    m = _DOCUMENT.search(latex)
    return m.group(1) if m else latex


def section_html(latex: str, ctx: Context) -> str:
    """One section's body as safe HTML (comments and drawings dropped first)."""
    return blocks(drop_drawings(strip_comments(latex)), ctx)


_SECTION = re.compile(r"\\(section|subsection)\*?\s*\{([^{}]*)\}")
_TITLE = re.compile(r"\\title\s*\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}")
_ABSTRACT = re.compile(r"\\begin\{abstract\}.*?(?:\\end\{abstract\}|\Z)", re.S)
_TAG = re.compile(r"(<[^>]*>)")


@dataclass
class Section:
    heading: str
    body: str
    level: int = 1
    results_part: bool = False
    #: the body rendered: paragraphs, lists, tables, citations, math (safe HTML)
    html: str = ""


def sections(latex: str, results_part: bool = False) -> list[Section]:
    """The LaTeX body split at \\section / \\subsection (title and abstract left out: shown apart)."""
    text = _ABSTRACT.sub("", _TITLE.sub("", document_body(latex or ""))).strip()
    if not text:
        return []
    out: list[Section] = []
    matches = list(_SECTION.finditer(text))
    head = text[: matches[0].start()].strip() if matches else text
    if head:
        out.append(Section("", head, 1, results_part))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        level = 1 if m.group(1) == "section" else 2
        out.append(Section(m.group(2).strip(), text[m.end() : end].strip(), level, results_part))
    return out


def paper_context(paper: dict[str, Any]) -> Context:
    """What a paper record's text refers to: its labels' numbers and its references' labels."""
    kinds: dict[str, str] = {}
    return Context(number_labels(str(paper.get("latex") or ""), kinds), kinds, cite_labels(paper.get("references_bib")))


def text_html(text: str, ctx: Context | None = None, *, comments: bool = True) -> str:
    """A field of LaTeX text (the abstract, a results description) as safe HTML paragraphs,
    rendered like the body so that ``12\\%`` reads 12% and ``$\\pm$`` reads ±. ``comments=False``
    for the user's own JSON, where a bare ``%`` is a percent sign (as the LaTeX export reads it)."""
    ctx = ctx or Context()
    return section_html(text, ctx) if comments else blocks(drop_drawings(text), ctx)


def paper_sections(paper: dict[str, Any]) -> list[Section]:
    """A paper record's sections, each rendered; in the results part (two-stage) the numbers that
    match none of the supplied results (``ungrounded_numbers``) are marked."""
    from ..grounding import ungrounded_spans

    latex = str(paper.get("latex") or "")
    results = str(paper.get("results_latex") or "")
    main = latex[: len(latex) - len(results)].rstrip() if results and latex.endswith(results) else latex
    numbers = paper.get("ungrounded_numbers") or []
    ctx = paper_context(paper)
    out = sections(main) + sections(results, results_part=True)
    for section in out:
        section.html = section_html(section.body, ctx)
        if section.results_part and numbers and ungrounded_spans(section.body, numbers):
            section.html = mark_numbers(section.html, [str(n.get("number", "")) for n in numbers])
    return out


def mark_numbers(rendered: str, numbers: list[str]) -> str:
    """The rendered body with the ungrounded numbers marked (in text, never inside a tag)."""
    wanted = sorted({n for n in numbers if n and re.fullmatch(r"[\d.,%+\-]+", n)}, key=len, reverse=True)
    if not wanted:
        return rendered
    pat = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in wanted) + r")(?![\w]|\.\d)")
    mark = '<mark class="ungrounded" title="matches none of the results">\\1</mark>'
    parts = _TAG.split(rendered)
    return "".join(p if i % 2 else pat.sub(mark, p) for i, p in enumerate(parts))


__all__ = [
    "Context", "Section", "cite_labels", "equation_rows", "inline", "mark_numbers", "number_labels",
    "paper_context", "paper_sections", "section_html", "sections", "text_html",
]  # fmt: skip
