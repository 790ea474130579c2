"""The CLI as data: every command of the real ``cycleresearcher`` app with its options, and the
command lines written in README.md and docs/*.md resolved against it (tests/test_docs.py,
tests/cli/)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer.main

from cycleresearcher.cli import app

ROOT = Path(__file__).resolve().parent.parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def root_command() -> Any:
    return typer.main.get_command(app)


def walk(cmd: Any = None, prefix: tuple[str, ...] = ()):
    """``(path, command)`` for the root, every group and every command, depth first."""
    cmd = root_command() if cmd is None else cmd
    yield prefix, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from walk(sub, (*prefix, name))


def leaves() -> list[tuple[tuple[str, ...], Any]]:
    return [(p, c) for p, c in walk() if not hasattr(c, "commands")]


def options(cmd: Any) -> list[Any]:
    return [p for p in cmd.params if p.param_type_name == "option"]


def names(opt: Any) -> list[str]:
    return [*opt.opts, *opt.secondary_opts]


def long_name(opt: Any) -> str:
    return next(n for n in opt.opts if n.startswith("--"))


def short_names(opt: Any) -> list[str]:
    return [n for n in names(opt) if not n.startswith("--")]


def hidden_aliases(cmd: Any) -> dict[str, str]:
    return dict(getattr(type(cmd), "hidden_aliases", {}))


# -- command lines in the docs ----------------------------------------------------------------


@dataclass
class DocLine:
    where: str  # file:line
    text: str  # from "cycleresearcher" (or a command path) to the end of the command


FENCE = re.compile(r"^\s*```")
INLINE = re.compile(r"`([^`\n]+)`")


def _joined_code_lines(lines: list[str]) -> list[tuple[int, str]]:
    """Lines of fenced blocks, with ``\\`` continuations and indented ``[--opt]`` lines joined."""
    out: list[tuple[int, str]] = []
    inside = False
    for i, line in enumerate(lines, 1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            continue
        cont = out and (out[-1][1].endswith("\\") or re.match(r"^\s+[\[-]", line) and "cycleresearcher" in out[-1][1])
        if cont:
            n, prev = out[-1]
            out[-1] = (n, prev.rstrip("\\").rstrip() + " " + line.strip())
        else:
            out.append((i, line))
    return out


def doc_command_lines(files: list[Path] = DOC_FILES) -> list[DocLine]:
    """Every ``cycleresearcher ...`` command in code blocks and inline code, and inline code that
    starts with a two-word command path (``research complete RUN --results ...``)."""
    paths = {" ".join(p) for p, _ in leaves() if len(p) == 2}
    found: list[DocLine] = []
    for f in files:
        lines = f.read_text(encoding="utf-8").splitlines()
        candidates = _joined_code_lines(lines)
        for n, line in enumerate(lines, 1):
            candidates += [(n, m.group(1)) for m in INLINE.finditer(line)]
        for n, text in candidates:
            where = f"{f.relative_to(ROOT)}:{n}"
            for m in re.finditer(r"(?:^|[\s/|(])cycleresearcher(?=\s)", text):
                if re.search(r"\b(from|import)\s+$", text[: m.start() + 1]):  # Python, not a command
                    continue
                found.append(DocLine(where, "cycleresearcher" + _command_end(text[m.end() :])))
            if " ".join(text.split()[:2]) in paths and "cycleresearcher" not in text:
                found.append(DocLine(where, "cycleresearcher " + _command_end(text)))
    return found


def _command_end(rest: str) -> str:
    """The command up to a shell comment, a pipe, ``&&``, ``;`` or a redirect outside ``[...]``."""
    depth = 0
    for i, ch in enumerate(rest):
        depth += ch == "["
        depth -= ch == "]"
        if depth <= 0 and (
            ch in ";>" or (ch == "|") or rest.startswith("&&", i) or (ch == "#" and rest[i - 1 : i].isspace())
        ):
            return rest[:i]
    return rest


def _tokens(text: str) -> list[str]:
    try:
        words = shlex.split(text, comments=False)
    except ValueError:
        words = text.split()
    out = []
    for w in words:
        w = w.strip("[]")
        if w.startswith("--") and "/--" in w:  # --strict/--lenient
            out += w.split("/")
        elif w.startswith("-") and len(w) > 1 and w != "--":
            out.append(w.split("=", 1)[0])
        else:
            out.append(w)
    return out


def unknown_options(line: str) -> tuple[tuple[str, ...], list[str]]:
    """The command path a docs line resolves to and the option tokens it does not have."""
    root = root_command()
    globals_ = {n for o in options(root) for n in names(o)} | {"--help"}
    cmd, path = root, ()
    bad: list[str] = []
    for tok in _tokens(line)[1:]:
        subs = getattr(cmd, "commands", None)
        if subs is not None:
            if tok in subs:
                cmd, path = subs[tok], (*path, tok)
                continue
            default = getattr(cmd, "default_command", None)
            if default and tok not in ("--help", "-h"):  # as _group.default_group does
                cmd, path = subs[default], (*path, default)
        if tok.startswith("-") and len(tok) > 1:
            known = {n for o in options(cmd) for n in names(o)} | globals_
            if tok not in known:
                bad.append(tok)
    return path, bad
