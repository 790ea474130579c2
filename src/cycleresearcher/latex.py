"""The one home of the small LaTeX scanners every stage needs: comments and brace groups.

Models write LaTeX that is often unbalanced or cut off, so every scanner here answers for a group
that never closes instead of raising. A backslash escapes the next character (``\\{``, ``\\%``).
"""

from __future__ import annotations

import re

# A %-comment to the end of its line; ``\\%`` is a percent sign, not a comment.
COMMENT = re.compile(r"(?<!\\)%[^\n]*")


def strip_comments(text: str, *, keep_width: bool = False, drop_comment_lines: bool = False) -> str:
    """``text`` without its %-comments.

    ``keep_width`` blanks a comment with spaces so that offsets into the text stay valid;
    ``drop_comment_lines`` removes a line that held only a comment (the line structure of the
    rest is kept)."""
    if keep_width:
        return COMMENT.sub(lambda m: " " * len(m.group()), text)
    if not drop_comment_lines:
        return COMMENT.sub("", text)
    out = []
    for line in text.split("\n"):
        m = COMMENT.search(line)
        if m:
            if not line[: m.start()].strip():
                continue
            line = line[: m.start()]
        out.append(line)
    return "\n".join(out)


def group_end(s: str, i: int) -> int | None:
    """Index of the ``}`` that closes the ``{`` at ``s[i]``, or None when it never closes."""
    depth, j = 0, i
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return None


def group(s: str, i: int) -> tuple[str, bool]:
    """Content of the brace group opening at ``s[i]`` and whether it closed (unclosed: to the end)."""
    end = group_end(s, i)
    return (s[i + 1 :], False) if end is None else (s[i + 1 : end], True)


def command_span(s: str, name: str) -> tuple[int, int, int | None] | None:
    """For the first ``\\name[opt]{arg}`` (``name`` may end in ``\\*?`` as a regex): the start of
    the command, the start of its argument and the index of the closing brace (None when the
    argument never closes); None when the command is absent."""
    m = re.search(rf"\\{name}\s*(?:\[[^\]]*\]\s*)?\{{", s)
    if not m:
        return None
    return m.start(), m.end(), group_end(s, m.end() - 1)


def command_argument(s: str, name: str, *, unclosed: bool = False) -> str | None:
    """The braced argument of the first ``\\name``; an unclosed one is None unless ``unclosed``
    (then it runs to the end of ``s``)."""
    span = command_span(s, name)
    if span is None:
        return None
    if span[2] is None:
        return s[span[1] :] if unclosed else None
    return s[span[1] : span[2]]


def remove_command(s: str, name: str) -> str:
    """``s`` without its first ``\\name{...}``; an unclosed argument runs to the end."""
    span = command_span(s, name)
    if span is None:
        return s
    start, _, end = span
    return s[:start] if end is None else s[:start] + s[end + 1 :]


def unclosed_braces(s: str) -> int:
    """How many ``{`` are still open at the end of ``s`` (comments and escapes ignored, a stray
    ``}`` with nothing open ignored)."""
    depth = 0
    for line in s.splitlines():
        line = re.sub(r"\\.", "", COMMENT.sub("", line))
        for c in line:
            if c == "{":
                depth += 1
            elif c == "}" and depth > 0:
                depth -= 1
    return depth


def balance(s: str) -> str:
    """``s`` with stray closing braces dropped and open ones closed at the end (escapes kept)."""
    out, depth, i = [], 0, 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i : i + 2])
            i += 2
            continue
        if c == "}":
            if depth == 0:
                i += 1
                continue
            depth -= 1
        elif c == "{":
            depth += 1
        out.append(c)
        i += 1
    return "".join(out) + "}" * depth


# -- plain text of a title -------------------------------------------------------------------
#: TeX's Greek letter macros and the characters they print (titles; the export's rescue pass)
GREEK_LETTERS = dict(
    zip(
        [
            "alpha",
            "beta",
            "gamma",
            "delta",
            "epsilon",
            "varepsilon",
            "zeta",
            "eta",
            "theta",
            "iota",
            "kappa",
            "lambda",
            "mu",
            "nu",
            "xi",
            "pi",
            "rho",
            "sigma",
            "tau",
            "upsilon",
            "phi",
            "varphi",
            "chi",
            "psi",
            "omega",
            "Gamma",
            "Delta",
            "Theta",
            "Lambda",
            "Xi",
            "Pi",
            "Sigma",
            "Upsilon",
            "Phi",
            "Psi",
            "Omega",
        ],
        "αβγδεεζηθικλμνξπρστυφφχψωΓΔΘΛΞΠΣΥΦΨΩ",
        strict=True,
    )
)
_GREEK_NAME = re.compile(r"GREEK (SMALL|CAPITAL) LETTER (?:FINAL )?(\w+)$")


def greek_macro(ch: str) -> str | None:
    """TeX's macro for a Greek letter (α -> ``\\alpha``, Γ -> ``\\Gamma``, ά -> ``\\alpha``, ς ->
    ``\\sigma``); None where TeX has none (capital Alpha, omicron) or ``ch`` is no Greek letter."""
    import unicodedata

    base = unicodedata.normalize("NFD", ch)[:1]  # accents (tonos, dialytika) dropped
    m = _GREEK_NAME.match(unicodedata.name(base, "")) if base else None
    if not m:
        return None
    name = m.group(2).lower().replace("lamda", "lambda")  # Unicode spells it LAMDA
    name = name if m.group(1) == "SMALL" else name.capitalize()
    return "\\" + name if name in GREEK_LETTERS else None


_WORDS = {
    "LaTeX": "LaTeX",
    "TeX": "TeX",
    "ldots": "…",
    "dots": "…",
    "times": "×",
    "cdot": "·",
    "to": "→",
    "textregistered": "®",
    "texttrademark": "™",
    "copyright": "©",
}
#: font size and style switches: ``{\LARGE\bf Title}`` reads "Title", not "LARGE bf Title"
_SWITCHES = frozenset(
    [
        "tiny",
        "scriptsize",
        "footnotesize",
        "small",
        "normalsize",
        "large",
        "Large",
        "LARGE",
        "huge",
        "Huge",
        "bf",
        "it",
        "sc",
        "rm",
        "sf",
        "tt",
        "em",
        "sl",
        "bfseries",
        "itshape",
        "scshape",
        "rmfamily",
        "sffamily",
        "ttfamily",
        "mdseries",
        "upshape",
        "normalfont",
        "centering",
        "raggedright",
        "raggedleft",
        "boldmath",
        "unboldmath",
        "noindent",
        "relax",
        "protect",
        "xspace",
    ]
)
#: TeX's accent commands and the combining marks they put on a letter (``\'{o}`` -> ó)
_ACCENT_MARKS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "d": "\u0323", "b": "\u0331", "r": "\u030a",
}  # fmt: skip
#: letters TeX has a command for (``\o``, ``\ss``, ``\aa``); ``\i`` and ``\j`` take accents
_LETTERS = {
    "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ",
    "ss": "ß", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ", "TH": "Þ",
    "ng": "ŋ", "NG": "Ŋ",
}  # fmt: skip
_BASE = r"(?:\\[ij](?![A-Za-z])|[A-Za-z])"
#: ``\'o``, ``\'{o}``, ``\' o``, ``\v{c}``, ``\d u``, ``\'{\i}``; a symbol accent takes any letter
#: after it, a letter accent (``\v``, ``\c``) only one that does not continue its name
ACCENT = re.compile(
    rf"(?<!\\)\\(?:([\'`^\"~=.])|([uvHckdbr])(?![A-Za-z]))\s*(?:\{{\s*({_BASE})\s*\}}|({_BASE}))"
)
LETTER = re.compile(r"(?<!\\)\\(" + "|".join(sorted(_LETTERS, key=len, reverse=True)) + r")(?![A-Za-z])(?:\s*\{\})?\s*")


def accent(m: re.Match[str]) -> str:
    """The Unicode letter an ``ACCENT`` match prints (``\\'{o}`` -> ó, ``\\'{\\i}`` -> í)."""
    import unicodedata

    base = m.group(3) or m.group(4)
    base = {"\\i": "i", "\\j": "j"}.get(base, base)
    return unicodedata.normalize("NFC", base + _ACCENT_MARKS[m.group(1) or m.group(2)])


def letter(m: re.Match[str]) -> str:
    """The Unicode letter a ``LETTER`` match prints (``\\o`` -> ø, ``\\ss`` -> ß)."""
    return _LETTERS[m.group(1)]


def tex_accents(text: str) -> str:
    """``text`` with TeX's accents and special letters as Unicode: ``Bogad\\'{o}ttir`` ->
    Bogadóttir, ``{\\"u}`` -> {ü}, ``\\v{c}`` -> č, ``Stra\\ss e`` -> Straße, ``{\\aa}`` -> {å}
    (braces are left to the caller). Math is not expected here: names, titles, running text."""
    return LETTER.sub(letter, ACCENT.sub(accent, text))


_DROPPED = ("thanks", "footnote", "label", "vspace", "hspace")
#: boxes whose last argument is the text: ``\resizebox{w}{h}{Title}`` -> Title
_BOXES = re.compile(
    r"\\(?:resizebox\*?\s*\{[^}]*\}\s*\{[^}]*\}|scalebox\s*\{[^}]*\}(?:\s*\[[^\]]*\])?)\s*(?=\{)"
)
_ESCAPED = re.compile(r"\\([&%$#_{}])")
_COMMAND = re.compile(r"\\([A-Za-z]+)\*?(\s*\[[^\]]*\])?(\s*\{)?")


def plain_title(text: str | None) -> str:
    """A title as people read it: the argument of ``\\title{...}`` when there is one, without
    LaTeX commands (``\\textbf{X}`` -> X), ties, line breaks, braces and math delimiters; math
    stays readable (``$\\alpha$-$k$NN`` -> α-kNN, ``$O(n^2)$`` -> O(n^2))."""
    text = text or ""
    if re.search(r"\\title\b", text):
        text = command_argument(text, r"title\*?", unclosed=True) or ""
    text = tex_accents(strip_comments(text))
    for name in _DROPPED:
        while command_span(text, name):
            text = remove_command(text, name)
    text = _BOXES.sub("", text)
    text = re.sub(r"\\\\(\[[^\]]*\])?|\\newline\b", " ", text)
    kept: list[str] = []  # escaped characters, put back at the end

    def keep(m: re.Match[str]) -> str:
        kept.append(m.group(1))
        return f"\x00{len(kept) - 1}\x00"

    text = _ESCAPED.sub(keep, text)

    def command(m: re.Match[str]) -> str:
        name, braced = m.group(1), m.group(3)
        word = GREEK_LETTERS.get(name) or _WORDS.get(name)
        if word:
            return word
        if name in _SWITCHES:
            return "" if not braced else "{"
        # \textbf{X}, \emph{X}, \mathcal{O}: the argument stays; \log n: the name stays
        return "" if braced or m.group(2) else name

    text = _COMMAND.sub(command, text)
    text = re.sub(r"\\[(),;:!]", " ", text).replace("\\ ", " ").replace("~", " ")
    text = text.replace("$", "").replace("{", "").replace("}", "")
    text = re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)
    return re.sub(r"\s+", " ", text).strip()
