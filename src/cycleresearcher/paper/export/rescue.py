"""Placeholder definitions for what a compile reported as unknown, so a second pass gets a PDF.

Model LaTeX uses macros of the papers it learnt from (``\\cS``, ``\\armab``, ...), environments
of their packages, and Unicode characters the TeX fonts lack: each is given a visible
placeholder (the macro's name in bold, a plain paragraph, a Greek letter or ``?``).
"""

from __future__ import annotations

import re

from ...latex import greek_macro

_UNDEFINED_ENV = re.compile(r"! LaTeX Error: Environment (\S+) undefined\.")
_UNICODE = re.compile(r"! LaTeX Error: Unicode character .*? \(U\+([0-9A-F]{4,6})\)")


def rescue_definitions(log: str) -> str:
    """Definitions for the undefined commands, environments and Unicode characters of ``log``."""
    defs: list[str] = []
    seen: set[str] = set()
    for cs in _undefined_commands(log):
        if cs not in seen:
            seen.add(cs)
            defs.append(rf"\providecommand{{{cs}}}{{\textbf{{\textbackslash {cs[1:]}}}\xspace}}")
    for env in _UNDEFINED_ENV.findall(log):
        if env not in seen:
            seen.add(env)
            defs.append(rf"\newenvironment{{{env}}}{{\par}}{{\par}}")
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
        r"\\providecommand\{(\\[^}]*)\}|\\newenvironment\{([^}]*)\}|\\DeclareUnicodeCharacter\{([^}]*)\}",
        rescue,
    )
    flat = [next(x for x in group if x) for group in names]
    return ", ".join(flat[:15]) + (" ..." if len(flat) > 15 else "")


__all__ = ["rescue_definitions", "rescue_names"]
