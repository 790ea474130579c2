"""Placeholder definitions for what a compile reported as unknown, so a second pass gets a PDF.

Model LaTeX uses macros of the papers it learnt from (``\\cS``, ``\\armab``, ...), environments
of their packages, colour names of other colour sets (``green(ncs)``, a Wikipedia name) and
Unicode characters the TeX fonts lack: each is given a visible placeholder (the macro's name in
bold, a plain paragraph, the nearest base colour, a Greek letter or ``?``). Colours are also
given their fallback before the first pass (``colour_fallbacks``): the names are in the text.
"""

from __future__ import annotations

import re

from ...latex import greek_macro

_UNDEFINED_ENV = re.compile(r"! LaTeX Error: Environment (\S+) undefined\.")
_UNICODE = re.compile(r"! LaTeX Error: Unicode character .*? \(U\+([0-9A-F]{4,6})\)")
_UNDEFINED_COLOUR = re.compile(r"! Package xcolor Error: Undefined color `([^']*)'")
#: the colour arguments of xcolor's commands (\fcolorbox's frame colour is its first)
_COLOUR_ARG = re.compile(
    r"\\(textcolor|color|colorbox|fcolorbox|cellcolor|rowcolor|columncolor|pagecolor|colorlet\{[^{}]*\})"
    r"\s*(?:\[[^\]]*\]\s*)?\{([^{}]*)\}(?:\s*\{([^{}]*)\})?"
)
_COLOUR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9().]*")
#: xcolor's base colours (always defined), longest first so "darkgray" wins over "gray"
_BASE = sorted(
    [
        "red",
        "green",
        "blue",
        "cyan",
        "magenta",
        "yellow",
        "black",
        "gray",
        "white",
        "darkgray",
        "lightgray",
        "brown",
        "lime",
        "olive",
        "orange",
        "pink",
        "purple",
        "teal",
        "violet",
    ],
    key=len,
    reverse=True,
)


def _fallback(name: str) -> str:
    low = name.lower().replace("grey", "gray")
    return next((base for base in _BASE if base in low), "gray")


def colour_fallbacks(latex: str, extra: list[str] | None = None) -> str:
    """A definition for every colour name ``latex`` uses (and ``extra``), run at
    ``\\begin{document}`` and only for names no package defined: ``green(ncs)`` becomes the base
    colour its name contains (green), else gray, instead of a TeX error that stops the compile."""
    names: list[str] = []
    for m in _COLOUR_ARG.finditer(latex):
        exprs = [m.group(2), m.group(3) if m.group(1) == "fcolorbox" else None]
        for expr in filter(None, exprs):
            for part in expr.split("!"):
                part = part.strip().lstrip("-")
                if _COLOUR_NAME.fullmatch(part) and part not in names:
                    names.append(part)
    for name in extra or []:
        if _COLOUR_NAME.fullmatch(name) and name not in names:
            names.append(name)
    defs = "".join(rf"\CRcolourfallback{{{n}}}{{{_fallback(n)}}}" for n in names if n.lower() not in _BASE)
    return rf"\AtBeginDocument{{{defs}}}" if defs else ""


#: names of the macros authors define empty to switch text off (``\\newcommand{\\remove}[1]{}``)
_HIDING = re.compile(
    r"(?i)(?:remove|removed|hide|hidden|ignore|omit|omitted|delete|deleted|del|old|comment|cut|drop|junk|off)"
)


def hides_text(cs: str, body: str) -> bool:
    """Whether ``\\cs{...}`` switches text off: its name says so, or an argument it takes holds
    a paragraph break or an ``\\end{...}`` of an environment it did not begin (typeset as a
    placeholder's group, that text would end an environment inside a group: a TeX error)."""
    if _HIDING.fullmatch(cs[1:]):
        return True
    for m in re.finditer(re.escape(cs) + r"(?![A-Za-z@])\s*\{", body):
        depth, i = 1, m.end()
        while i < len(body) and depth:
            if body[i] == "\\":
                i += 2
                continue
            depth += {"{": 1, "}": -1}.get(body[i], 0)
            i += 1
        arg = body[m.end() : i - 1]
        if re.search(r"\n[ \t]*\n", arg) or len(re.findall(r"\\end\s*\{", arg)) != len(
            re.findall(r"\\begin\s*\{", arg)
        ):
            return True
    return False


def rescue_definitions(log: str, body: str = "") -> str:
    """Definitions for the undefined commands, environments and Unicode characters of ``log``;
    a command that hides text in ``body`` (``hides_text``) drops its argument."""
    defs: list[str] = []
    seen: set[str] = set()
    for cs in _undefined_commands(log):
        if cs not in seen:
            seen.add(cs)
            if body and hides_text(cs, body):
                defs.append(rf"\providecommand{{{cs}}}[1]{{}}")
            else:
                defs.append(rf"\providecommand{{{cs}}}{{\textbf{{\textbackslash {cs[1:]}}}\xspace}}")
    for env in _UNDEFINED_ENV.findall(log):
        if env not in seen:
            seen.add(env)
            defs.append(rf"\newenvironment{{{env}}}{{\par}}{{\par}}")
    colours = [c for c in _UNDEFINED_COLOUR.findall(log) if c not in seen]
    if colours:
        seen.update(colours)
        defs.append(colour_fallbacks("", colours))
    for code in _UNICODE.findall(log):
        if code not in seen:
            seen.add(code)
            macro = greek_macro(chr(int(code, 16)))
            repl = rf"\ensuremath{{{macro}}}" if macro else "?"
            defs.append(rf"\DeclareUnicodeCharacter{{{code}}}{{{repl}}}")
    return "\n".join(defs)


def _undefined_commands(log: str) -> list[str]:
    """Names TeX reported as undefined: the last control sequence on the context line after the error."""
    lines = log.splitlines()
    found: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("! Undefined control sequence"):
            for context in lines[i + 1 : i + 3]:
                names = re.findall(r"\\(?:[A-Za-z@]+|[0-9])", context)
                if names:
                    found.append(names[-1])
                    break
    return found


def rescue_names(rescue: str) -> str:
    """The names ``rescue`` defines, for a warning (the first 15)."""
    names = re.findall(
        r"\\providecommand\{(\\[^}]*)\}|\\newenvironment\{([^}]*)\}|\\DeclareUnicodeCharacter\{([^}]*)\}"
        r"|\\CRcolourfallback\{([^}]*)\}",
        rescue,
    )
    flat = [next(x for x in group if x) for group in names]
    return ", ".join(flat[:15]) + (" ..." if len(flat) > 15 else "")


__all__ = ["colour_fallbacks", "hides_text", "rescue_definitions", "rescue_names"]
