"""Inline math as readable, escaped HTML: Greek letters and operators as Unicode, powers and indices
as ``<sup>`` / ``<sub>``, ``\\frac{a}{b}`` as a/b. Offline and small on purpose (no MathJax, no CDN);
every piece of the model's text goes through ``html.escape``."""

from __future__ import annotations

import html
import re

from ...latex import GREEK_LETTERS, group_end

SYMBOLS = {
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "∼",
    "simeq": "≃", "equiv": "≡", "propto": "∝", "pm": "±", "mp": "∓", "times": "×", "cdot": "·",
    "div": "÷", "ast": "∗", "circ": "∘", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆",
    "supset": "⊃", "cup": "∪", "cap": "∩", "emptyset": "∅", "forall": "∀", "exists": "∃",
    "neg": "¬", "land": "∧", "lor": "∨", "wedge": "∧", "vee": "∨", "infty": "∞", "partial": "∂",
    "nabla": "∇", "sum": "∑", "prod": "∏", "int": "∫", "to": "→", "rightarrow": "→",
    "leftarrow": "←", "Rightarrow": "⇒", "Leftarrow": "⇐", "leftrightarrow": "↔", "mapsto": "↦",
    "iff": "⇔", "implies": "⇒", "ldots": "…", "cdots": "⋯", "dots": "…", "vdots": "⋮",
    "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "ell": "ℓ", "star": "⋆", "dagger": "†", "top": "⊤", "bot": "⊥", "log": "log", "exp": "exp",
    "max": "max", "min": "min", "arg": "arg", "sin": "sin", "cos": "cos", "lim": "lim",
    "argmax": "argmax", "argmin": "argmin", "quad": " ", "qquad": "  ", ",": " ", ";": " ",
    ":": " ", "!": "", " ": " ", "|": "‖", "{": "{", "}": "}", "%": "%", "_": "_", "&": "&",
    "#": "#", "$": "$", "triangleq": "≜", "coloneqq": "≔", "ll": "≪", "gg": "≫", "lesssim": "≲",
    "gtrsim": "≳", "prime": "′", "odot": "⊙", "oplus": "⊕", "otimes": "⊗", "sqrt": "√", "mid": "|", "lVert": "‖", "rVert": "‖", "Vert": "‖", "vert": "|",
    "uparrow": "↑", "downarrow": "↓", "updownarrow": "↕", "Uparrow": "⇑", "Downarrow": "⇓",
    "longrightarrow": "⟶", "longleftarrow": "⟵", "Longrightarrow": "⟹", "nearrow": "↗",
    "searrow": "↘", "uparrows": "⇈", "downarrows": "⇊", "approxeq": "≊", "nsim": "≁",
    "leqslant": "⩽", "geqslant": "⩾", "setminus": "∖", "bullet": "•", "checkmark": "✓",
}  # fmt: skip
#: decorations drawn as a combining mark on each letter of their argument (``\hat{y}`` -> ŷ)
DECORATIONS = {
    "hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303", "widetilde": "\u0303", "bar": "\u0304",
    "overline": "\u0305", "vec": "\u20d7", "dot": "\u0307", "ddot": "\u0308", "underline": "\u0332",
    "check": "\u030c", "breve": "\u0306", "acute": "\u0301", "grave": "\u0300",
}  # fmt: skip
BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "E": "𝔼", "P": "ℙ"}
#: commands whose one argument is shown as it is (fonts, decorations, text in math)
_KEEP_ARG = re.compile(
    r"math(?:rm|bf|it|cal|sf|tt|frak|bfit)|text(?:rm|bf|it|sf|tt)?|bm|boldsymbol|operatorname\*?"
    r"|left|right|big+l?r?|Big+l?r?"
)
_NAME = re.compile(r"\\([A-Za-z]+\*?|.)")
#: a piece of rendered HTML: a tag, a character entity or one character
_PIECE = re.compile(r"<[^>]*>|&#?\w+;|.", re.S)


def _arg(s: str, i: int) -> tuple[str, int]:
    """The next argument from ``s[i]``: a brace group or one character (``x^2``)."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return "", i
    if s[i] == "{":
        end = group_end(s, i)
        return (s[i + 1 :], len(s)) if end is None else (s[i + 1 : end], end + 1)
    if s[i] == "\\":
        m = _NAME.match(s, i)
        if m:
            return m.group(0), m.end()
    return s[i], i + 1


def _wrap(part: str) -> str:
    """``(a+b)`` around a fraction's part unless it is one symbol or number."""
    return part if re.fullmatch(r"[\w.]+|&\w+;", part) else f"({part})"


def decorate(rendered: str, mark: str) -> str:
    """``rendered`` with the combining ``mark`` after each letter outside its tags (``\\hat{y}_i``
    -> ŷ<sub>i</sub>: the index, inside a tag, keeps no hat)."""
    out, depth = [], 0
    for piece in _PIECE.findall(rendered):
        if piece.startswith("<") and len(piece) > 1:
            depth += -1 if piece.startswith("</") else 1
        out.append(piece + mark if depth == 0 and not piece.startswith("<") and not piece.isspace() else piece)
    return "".join(out)


def math_html(tex: str, depth: int = 0) -> str:
    """``tex`` (the inside of ``$...$``) as escaped HTML."""
    if depth > 20:  # a hostile nest of braces: shown as text
        return html.escape(tex)
    out: list[str] = []
    i = 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            m = _NAME.match(tex, i)
            name = m.group(1) if m else ""
            i = m.end() if m else i + 1
            if name in GREEK_LETTERS:
                out.append(GREEK_LETTERS[name])
            elif name in SYMBOLS:
                out.append(html.escape(SYMBOLS[name]))
            elif name == "\\":
                out.append(" ")
            elif name in ("frac", "dfrac", "tfrac"):
                a, i = _arg(tex, i)
                b, i = _arg(tex, i)
                out.append(f"{_wrap(math_html(a, depth + 1))}/{_wrap(math_html(b, depth + 1))}")
            elif name == "sqrt":
                a, i = _arg(tex, i)
                out.append(f"√({math_html(a, depth + 1)})")
            elif name in ("begin", "end"):  # \begin{cases} inside an equation: its rows stay
                env, i = _arg(tex, i)
                if name == "begin" and env == "array":  # and its column spec goes
                    _, i = _arg(tex, i)
            elif name in DECORATIONS:
                a, i = _arg(tex, i)
                out.append(decorate(math_html(a, depth + 1), DECORATIONS[name]))
            elif name == "mathbb":
                a, i = _arg(tex, i)
                out.append(html.escape("".join(BLACKBOARD.get(ch, ch) for ch in a)))
            elif _KEEP_ARG.fullmatch(name):
                if name.startswith(("left", "right", "big", "Big")):
                    continue  # the delimiter that follows is shown as itself
                a, i = _arg(tex, i)
                out.append(math_html(a, depth + 1))
            else:
                out.append(html.escape(name))
        elif c in "^_":
            a, i = _arg(tex, i + 1)
            tag = "sup" if c == "^" else "sub"
            out.append(f"<{tag}>{math_html(a, depth + 1)}</{tag}>")
        elif c == "{":
            a, i = _arg(tex, i)
            out.append(math_html(a, depth + 1))
        elif c in "}~&":  # a bare & only aligns (an array, aligned): a space
            out.append("" if c == "}" else " ")
            i += 1
        else:
            out.append(html.escape(c))
            i += 1
    return "".join(out)


__all__ = ["math_html"]
