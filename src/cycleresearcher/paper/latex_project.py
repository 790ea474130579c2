"""A LaTeX project read as TeX reads it: one main file, its includes, one paper.

The main file is the one with ``\\documentclass`` and ``\\begin{document}``; among several (a
rebuttal, a supplement beside the paper) the one no other file includes, then the one BibTeX or
LaTeX has run on (a ``.bbl`` / ``.pdf`` of the same name), then the one not named like a side
document. ``\\input`` / ``\\include`` are resolved from the main file's folder, as TeX does
(then from the including file's folder, which some editors accept); ``\\import`` /
``\\subimport`` with the import package's rules; ``\\subfile`` from the including file. Every
file is read from inside the project folder only (``files.project_file``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..latex import command_argument, plain_title, strip_comments
from .files import project_file, read_utf8
from .hidden import HiddenText, scan_characters
from .hidden_latex import comment_findings, read_colours, scan_body, switched_off_findings
from .latex_macros import expand, expandable, read_definitions, remove_spans
from .latex_refs import BIB_COMMANDS, ReferenceList, bib_names, from_bbl, from_bib
from .latex_text import body_text, switch_off

_DOCCLASS = re.compile(r"\\documentclass\b")
_BEGIN_DOC = re.compile(r"\\begin\s*\{document\}")
_END_DOC = re.compile(r"\\end\s*\{document\}")
_INCLUDE = re.compile(
    r"\\(input|include|subfile)\s*\{([^}]+)\}"
    r"|\\(import|subimport|inputfrom|subinputfrom|includefrom|subincludefrom)\*?\s*\{([^}]*)\}\s*\{([^}]+)\}"
    r"|\\(input)\s+([^\s{}\\%]+)"
)
#: files an \input may name that are drawings or generated lists, not text
_NOT_TEXT = {".pgf", ".tikz", ".pdf_tex", ".pdf_t", ".pstex_t", ".bbl", ".sty", ".cls", ".dat", ".csv"}
_SIDE_NAMES = re.compile(
    r"rebuttal|response|supp|appendix|cover|letter|poster|slides|review|checklist|template|sample"
)

#: \input nesting deeper than this is refused (real projects use 2-3 levels; a hostile chain of
#: thousands would exhaust the stack and take the whole batch down)
MAX_INCLUDE_DEPTH = 32
#: a folder with more .tex files than this is scanned for includes only among the first ones
MAX_SCANNED_FILES = 400


def _source(path: Path) -> str:
    return strip_comments(read_utf8(path), drop_comment_lines=True)


def is_main(path: Path, root: Path) -> bool:
    """``path`` is a file of the project that starts a document (unreadable files are not)."""
    real, _ = project_file(path, root)
    if real is None:
        return False
    try:
        text = _source(real)
    except InputError:
        return False
    return bool(_DOCCLASS.search(text) and _BEGIN_DOC.search(text))


def _tex_files(folder: Path) -> list[Path]:
    found = []
    for p in sorted(folder.rglob("*.tex")):
        if any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        found.append(p)
        if len(found) >= MAX_SCANNED_FILES:
            break
    return found


def _named(folder: Path, base: Path, name: str) -> list[Path]:
    names = [name] if name.endswith(".tex") else [name + ".tex", name]
    return [(d / n) for d in (base, folder) for n in names]


def _included_by_others(folder: Path, files: list[Path]) -> set[Path]:
    """The files some other file of the folder includes (by any of the names TeX would try)."""
    included: set[Path] = set()
    for f in files:
        real, _ = project_file(f, folder)
        if real is None:
            continue
        try:
            text = _source(real)
        except InputError:
            continue
        for m in _INCLUDE.finditer(text):
            name = (m.group(2) or m.group(5) or m.group(7) or "").strip()
            dirs = [m.group(4).strip()] if m.group(4) else []
            for cand in _named(folder, f.parent, str(Path(*dirs, name)) if dirs else name):
                try:
                    if cand.resolve() != real:
                        included.add(cand.resolve())
                except (OSError, RuntimeError):
                    continue
    return included


@dataclass
class MainChoice:
    main: Path
    candidates: list[Path]
    why: str = ""


def choose_main(folder: Path) -> MainChoice | None:
    """The main file of the project in ``folder`` (the files directly in it), or None when no
    file there starts a document."""
    folder = folder.resolve()
    candidates = [
        p for p in sorted(folder.glob("*.tex")) if not p.name.startswith(".") and is_main(p, folder)
    ]
    if not candidates:
        return None
    if len(candidates) == 1:
        return MainChoice(candidates[0], candidates)
    included = _included_by_others(folder, _tex_files(folder))

    def rank(p: Path) -> tuple:
        return (
            p.resolve() in included,
            not (p.with_suffix(".bbl").exists() or p.with_suffix(".pdf").exists()),
            bool(_SIDE_NAMES.search(p.stem.lower())),
            p.stem.lower() not in ("main", "paper", "ms", "manuscript", "article"),
            -p.stat().st_size,
        )

    ranked = sorted(candidates, key=rank)
    best, second = rank(ranked[0]), rank(ranked[1])
    reasons = [
        "the one no other file includes",
        "the one with a .bbl or .pdf of its name",
        "the one not named like a side document",
        "the one named main / paper",
        "the largest",
    ]
    why = next((r for r, a, b in zip(reasons, best, second, strict=True) if a != b), "the first by name")
    return MainChoice(ranked[0], candidates, why)


#: what only a LaTeX project's main file uses: other files of its folder
_USES_FILES = re.compile(
    r"\\(?:input|include|subfile|import|subimport|includegraphics|graphicspath|bibliography|addbibresource)\b"
)
_PROJECT_FILES = (".bib", ".bbl", ".sty", ".cls", ".bst")


def project_main(folder: Path) -> MainChoice | None:
    """The main file when ``folder`` is a LaTeX project (one paper), else None.

    A main file alone does not make a project: a folder of loose papers may hold one standalone
    ``.tex`` beside ``.md`` and ``.pdf`` papers. It is a project when the main file uses other
    files (``\\input``, ``\\includegraphics``, ``\\bibliography``, ...) or the folder holds a
    ``.bib``, ``.bbl``, ``.sty``, ``.cls`` or ``.bst`` file."""
    choice = choose_main(folder)
    if choice is None:
        return None
    if any(p.suffix.lower() in _PROJECT_FILES for p in folder.iterdir() if not p.name.startswith(".")):
        return choice
    try:
        uses = _USES_FILES.search(_source(choice.main))
    except InputError:
        uses = None
    return choice if uses else None


@dataclass
class LatexProject:
    """One LaTeX project read as one paper."""

    main: Path
    root: Path
    title: str
    text: str
    candidates: list[Path] = field(default_factory=list)
    included: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    references: ReferenceList = field(default_factory=ReferenceList)
    bibtex: str | None = None
    hidden: list[HiddenText] = field(default_factory=list)


class _Flattener:
    def __init__(self, main: Path, root: Path, keep_hidden: bool = False) -> None:
        self.main, self.root = main, root
        self.keep_hidden = keep_hidden
        self.hidden: list[HiddenText] = []
        self.colours: dict = {}
        self.page_colour = (1.0, 1.0, 1.0)
        self.seen: set[Path] = {main}
        self.included: list[Path] = []
        self.missing: list[str] = []
        self.warnings: list[str] = []
        self.flags: dict[str, bool] = {}

    def _warn(self, text: str) -> None:
        if text not in self.warnings:  # a file missing from several places is said once
            self.warnings.append(text)

    def file(self, path: Path, chain: tuple[Path, ...], base: Path | None) -> str:
        chain = (*chain, path)
        if len(chain) > MAX_INCLUDE_DEPTH:
            names = [c.name for c in chain]
            shown = " -> ".join(names[:3] + ["..."] + names[-2:])
            raise InputError(
                f"{chain[0]}: \\input files nested too deeply (more than {MAX_INCLUDE_DEPTH} levels: {shown}). "
                "Flatten the includes, or pass the compiled PDF instead."
            )
        text = self._visible(path)
        if path != self.main and _DOCCLASS.search(text):  # a \subfile or standalone: its body
            body = _BEGIN_DOC.search(text)
            if body:
                end = _END_DOC.search(text, body.end())
                text = text[body.end() : end.start() if end else len(text)]
        return _INCLUDE.sub(lambda m: self._include(m, path, chain, base), text)

    def _visible(self, path: Path) -> str:
        """One file's source as TeX typesets it: invisible characters, comments, switched-off
        text and invisibly typeset text out (``hidden_latex``), each listed where it is."""
        try:
            where = str(path.relative_to(self.root))
        except ValueError:
            where = path.name
        raw, found = scan_characters(read_utf8(path), where, self.keep_hidden)
        found += comment_findings(raw, where)
        dropped: list[str] = []
        text = switch_off(strip_comments(raw, drop_comment_lines=True), self.flags, self.warnings, dropped)
        found += switched_off_findings(raw, dropped, where)
        defined, page = read_colours(text)
        self.colours.update(defined)
        self.page_colour = page if page != (1.0, 1.0, 1.0) else self.page_colour
        begin = _BEGIN_DOC.search(text) if path == self.main else None
        start = begin.end() if begin else 0  # the preamble's macros are expanded, then scanned
        body, typeset = scan_body(text[start:], self.colours, self.page_colour, where, self.keep_hidden, raw)
        self.hidden += found + typeset
        return text[:start] + body

    def _include(self, m: re.Match[str], path: Path, chain: tuple[Path, ...], base: Path | None) -> str:
        if m.group(3):  # \import{dir}{file} (from the main folder) / \subimport{dir}{file} (from here)
            cmd, name = m.group(3), m.group(5).strip()
            start = (base or path.parent) if cmd.startswith("sub") else self.root
            new_base = (start / m.group(4).strip()) if m.group(4).strip() else start
            dirs = [new_base]
            shown = f"\\{cmd}{{{m.group(4)}}}{{{name}}}"
        else:
            cmd, name = m.group(1) or m.group(6), (m.group(2) or m.group(7)).strip()
            new_base = base
            dirs = [path.parent] if cmd == "subfile" else [d for d in (base, self.root, path.parent) if d]
            shown = f"\\{cmd}{{{name}}}"
        if Path(name).suffix.lower() in _NOT_TEXT:
            return ""
        names = [name] if name.endswith(".tex") else [name + ".tex", name]
        tried = [d / n for d in dict.fromkeys(dirs) for n in names]
        target, why = None, "not found"
        # the first name that exists (a link counts, even one leading out: it is reported)
        cand = next((c for c in tried if os.path.lexists(c)), None)
        if cand is not None:
            target, why = project_file(cand, self.root)
            if why and why != "not found":
                why = f"{cand.name} {why}"
        if target is None:
            if why == "not found":
                self.missing.append(name)
                self._warn(f"{shown}: {Path(names[0]).name} not found; not included")
            else:
                self._warn(f"{shown}: {why}; not included")
            return ""
        if target in self.seen:
            self._warn(f"{shown} is included recursively or twice; skipped after the first time")
            return ""
        self.seen.add(target)
        self.included.append(target)
        return self.file(target, chain, new_base if m.group(3) else base)


def _local_styles(preamble: str, root: Path) -> str:
    """The text of the project's own style files named by ``\\usepackage`` (their macros)."""
    texts = []
    for m in re.finditer(r"\\usepackage\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}", preamble):
        for name in m.group(1).split(","):
            real, _ = project_file(root / (name.strip() + ".sty"), root)
            if real is not None and real.stat().st_size < 200_000:
                try:
                    texts.append(_source(real))
                except InputError:
                    continue
    return "\n".join(texts)


def _references(main: Path, root: Path, text: str, warnings: list[str]) -> ReferenceList:
    bbls = [main.with_suffix(".bbl")] + sorted(p for p in root.glob("*.bbl") if p != main.with_suffix(".bbl"))
    for bbl in bbls:
        real, _ = project_file(bbl, root)
        if real is not None:
            try:
                refs = from_bbl(read_utf8(real), bbl.name)
            except InputError as exc:
                warnings.append(f"{bbl.name} not read ({exc})")
                continue
            if refs.entries:
                return refs
    named = bib_names(text)
    paths = []
    for name in named or [p.name for p in sorted(root.glob("*.bib"))]:
        real, why = project_file(root / name, root)
        if real is not None:
            paths.append(real)
        elif named:
            warnings.append(f"{name} {why}; not read for the reference list")
    if not paths:
        return ReferenceList()
    return from_bib(paths, text, ", ".join(p.name for p in paths))


def read_project(main: Path, choice: MainChoice | None = None, keep_hidden: bool = False) -> LatexProject:
    """The paper a main file makes: its includes flattened, switched-off text, hidden text
    (unless ``keep_hidden``; listed in ``hidden`` either way) and drawings dropped, the authors'
    macros expanded, floats reduced, the reference list at the end."""
    main = main.resolve()  # a main file given as a symlink is the user's choice
    root = main.parent
    flat = _Flattener(main, root, keep_hidden)
    text = flat.file(main, (), None)
    warnings = flat.warnings
    begin = _BEGIN_DOC.search(text)
    preamble, body = (text[: begin.start()], text[begin.end() :]) if begin else ("", text)
    end = _END_DOC.search(body)
    body = body[: end.start()] if end else body
    macros, _ = read_definitions(_local_styles(preamble, root) + "\n" + preamble + "\n" + body)
    macros = expandable(macros)
    _, spans = read_definitions(body)
    body = expand(remove_spans(body, spans), macros)
    # hiding done through the authors' own macros shows only once they are expanded
    body, by_macro = scan_body(body, flat.colours, flat.page_colour, main.name, keep_hidden)
    seen = {h.excerpt for h in flat.hidden}
    hidden = flat.hidden + [
        HiddenText(h.kind, f"{main.name}, through a macro", h.excerpt)
        for h in by_macro
        if h.excerpt not in seen
    ]
    raw_title = command_argument(text, r"(?:icml)?title\*?", unclosed=True) or ""
    title = plain_title(expand(raw_title, macros))
    inline_list = "\\begin{thebibliography}" in body
    refs = ReferenceList() if inline_list else _references(main, root, text, warnings)
    warnings.extend(refs.warnings)
    body = body_text(BIB_COMMANDS.sub("", body))
    parts = [f"\\title{{{title}}}" if title else "", body, refs.section()]
    out = "\n\n".join(p for p in parts if p).strip()
    candidates = choice.candidates if choice else [main]
    if len(candidates) > 1:
        others = ", ".join(p.name for p in candidates if p.resolve() != main)
        warnings.insert(
            0,
            f"main file: {main.name}, {choice.why if choice else 'as given'} (also starting a document, not read: {others})",
        )
    bib = []
    for b in sorted(root.glob("*.bib")):
        real, why = project_file(b, root)
        if real is None:
            warnings.append(f"{b.name} {why}; not read as the bibliography")
        else:
            bib.append(real)
    bibtex = "\n\n".join(read_utf8(b) for b in bib) if bib else None
    return LatexProject(
        main, root, title, out, list(candidates), flat.included, flat.missing, warnings, refs, bibtex, hidden
    )


__all__ = [
    "MAX_INCLUDE_DEPTH",
    "LatexProject",
    "MainChoice",
    "choose_main",
    "is_main",
    "project_main",
    "read_project",
]
