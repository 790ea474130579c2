"""Real LaTeX paper projects read as the reviewer receives them, before and after.

    python benchmarks/real_papers_sources.py /work/main/.cache/corpus/latex   # rebuild the corpus
    PYTHONPATH=src python benchmarks/real_papers.py /work/main/.cache/corpus/latex

Per project folder (as ``cycleresearcher review FOLDER`` reads it): documents found, the main
file chosen, files included / missing, warnings, characters of text, whether a reference list
ends the text, switched-off text kept (snippets of ``\\iffalse`` blocks, ``comment``
environments and arguments of macros defined empty that survive into the text) and raw-macro
leftovers (uses of macros the project defines, left unexpanded). The same two counts are taken
for the reader before this change (``--base``, the reader of that commit, default the branch
point) and, when pylatexenc is importable, for pylatexenc's LaTeX-to-text on the old reader's
text (a measurement only: pylatexenc is not a dependency). Results go to
benchmarks/results/real_papers.{md,json} with the sources list and the CPU.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write  # noqa: E402
from real_papers_sources import SOURCES  # noqa: E402


def old_reader(base: str):  # type: ignore[no-untyped-def]
    """The reader of commit ``base``, loaded beside the current package."""
    src = subprocess.run(
        ["git", "show", f"{base}:src/cycleresearcher/paper/readers.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    src = src.replace("from .. import", "from cycleresearcher import").replace(
        "from ..", "from cycleresearcher."
    )
    src = src.replace("from .", "from cycleresearcher.paper.")
    mod = types.ModuleType("old_readers")
    sys.modules["old_readers"] = mod
    exec(compile(src, "old_readers.py", "exec"), mod.__dict__)
    return mod


def _words(s: str) -> str:
    return " ".join(re.findall(r"[A-Za-z]{2,}", s))


def disabled_snippets(sources: list[str]) -> list[str]:
    """Snippets (5 to 8 words) of the text the authors switched off, from the files the paper reads."""
    from cycleresearcher.paper.latex_macros import read_definitions

    chunks: list[str] = []
    whole = "\n".join(sources)
    for s in sources:
        chunks += re.findall(r"\\iffalse(.*?)\\fi\b", s, re.S)
        chunks += re.findall(r"\\begin\{comment\}(.*?)\\end\{comment\}", s, re.S)
    macros, _ = read_definitions(whole)
    empty = [m.name for m in macros.values() if m.nargs >= 1 and not m.body.strip()]
    for name in empty:
        chunks += re.findall(rf"\\{name}\s*\{{([^{{}}]*)\}}", whole)
    snippets = []
    for c in chunks:
        w = _words(re.sub(r"\\[A-Za-z]+", " ", c)).split()
        if len(w) >= 5:  # 8 words at most: shorter snippets ("In this paper we") occur in live text too
            snippets.append(" ".join(w[:8]))
    return snippets


def kept(snippets: list[str], text: str) -> int:
    plain = _words(re.sub(r"\\[A-Za-z]+", " ", text))
    return sum(1 for s in snippets if s in plain)


def leftovers(names: set[str], text: str) -> int:
    if not names:
        return 0
    pat = re.compile(
        r"\\(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?![A-Za-z])"
    )
    return len(pat.findall(text))


def measure(folder: Path, old, latex2text) -> dict:  # type: ignore[no-untyped-def]
    from cycleresearcher.latex import strip_comments
    from cycleresearcher.paper.batch import iter_documents
    from cycleresearcher.paper.latex_macros import PROTECTED, user_macro_names
    from cycleresearcher.paper.latex_project import choose_main, read_project

    t0 = time.perf_counter()
    docs = list(iter_documents([folder]))
    seconds = time.perf_counter() - t0
    choice = choose_main(folder)
    from cycleresearcher.paper.readers import EXTENSIONS

    # what the walk of the folder read before: every file of a paper extension was a paper
    before = sum(
        1
        for f in folder.rglob("*")
        if f.suffix.lower() in EXTENSIONS and not any(x.startswith(".") for x in f.relative_to(folder).parts)
    )
    row: dict = {"project": folder.name, "documents": len(docs), "old_documents": before}
    if choice is None:
        return {**row, "error": "no main file"}
    proj = read_project(choice.main, choice)
    files = [proj.main, *proj.included]
    sources = [strip_comments(f.read_text(errors="replace"), drop_comment_lines=True) for f in files]
    # the authors' macros: those the paper's .tex files define (a template's .sty defines its internals)
    names = user_macro_names("\n".join(sources)) - PROTECTED
    names -= {"cmark", "xmark"}  # rendered as symbols even where defined elsewhere
    snippets = disabled_snippets(sources)
    text = proj.text
    old_doc = old._read_latex(choice.main)
    row.update(
        main=choice.main.name,
        candidates=len(choice.candidates),
        why=choice.why,
        included=len(proj.included),
        missing=len(proj.missing),
        warnings=len(proj.warnings),
        chars=len(text),
        references=("\\section*{References}" in text) or ("\\begin{thebibliography}" in text),
        reference_source=proj.references.source,
        reference_entries=len(proj.references.entries),
        disabled_markers=len(snippets),
        disabled_kept=kept(snippets, text),
        raw_macros=leftovers(names, text),
        seconds=round(seconds, 3),
        old_chars=len(old_doc.text),
        old_missing=sum("not found" in w for w in old_doc.warnings),
        old_disabled_kept=kept(snippets, old_doc.text),
        old_raw_macros=leftovers(names, old_doc.text),
        old_references="\\section*{References}" in old_doc.text or "\\begin{thebibliography}" in old_doc.text,
    )
    if latex2text is not None:
        t0 = time.perf_counter()
        try:
            plain = latex2text(old_doc.text)
            row.update(
                pylatexenc_chars=len(plain),
                pylatexenc_disabled_kept=kept(snippets, plain),
                pylatexenc_seconds=round(time.perf_counter() - t0, 3),
            )
        except Exception as exc:  # a parse failure is a result too
            row.update(pylatexenc_error=str(exc)[:120])
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--base", default="2ee9d42", help="the commit whose reader is 'before'")
    args = ap.parse_args()
    old = old_reader(args.base)
    try:
        from pylatexenc.latex2text import LatexNodes2Text

        latex2text = LatexNodes2Text().latex_to_text
    except ImportError:
        latex2text = None
    rows = [measure(d, old, latex2text) for d in sorted(args.corpus.iterdir()) if d.is_dir()]
    venue = {name: v for name, _r, _c, _f, v in SOURCES}
    lines = [
        "# Real LaTeX projects as the reviewer reads them",
        "",
        f"{len(rows)} projects from public repositories (sources below), CPU: {machine()['cpu']}.",
        "Before = the reader of the branch point; 'kept' = snippets of switched-off text found in the text.",
        "",
        "| project | venue | docs (before) | main (of candidates) | included | missing (before) | warnings | chars (before) "
        "| refs (entries, before) | switched-off kept / markers (before) | raw macros (before) | s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['project']} | | {r['documents']} | {r['error']} |")
            continue
        lines.append(
            f"| {r['project']} | {venue.get(r['project'], '')} | {r['documents']} ({r['old_documents']}) | {r['main']} ({r['candidates']}) "
            f"| {r['included']} | {r['missing']} ({r['old_missing']}) | {r['warnings']} | {r['chars']} ({r['old_chars']}) "
            f"| {'yes' if r['references'] else 'no'} ({r['reference_entries']}, {'yes' if r['old_references'] else 'no'}) "
            f"| {r['disabled_kept']} / {r['disabled_markers']} ({r['old_disabled_kept']}) "
            f"| {r['raw_macros']} ({r['old_raw_macros']}) | {r['seconds']} |"
        )
    if latex2text is not None:
        lines += [
            "",
            "pylatexenc 2 (MIT) LatexNodes2Text on the old reader's text: switched-off kept / chars / seconds:",
            "",
        ]
        lines += [
            f"- {r['project']}: {r.get('pylatexenc_disabled_kept', r.get('pylatexenc_error'))} / "
            f"{r.get('pylatexenc_chars', '-')} / {r.get('pylatexenc_seconds', '-')}"
            for r in rows
            if "error" not in r
        ]
    lines += ["", "Sources (repository, commit, folder):", ""]
    lines += [f"- {n}: {repo} @ {c[:12]} {f or '/'}" for n, repo, c, f, _v in SOURCES]
    write(
        "real_papers",
        {
            "rows": rows,
            "sources": [
                dict(zip(("name", "repo", "commit", "folder", "venue"), s, strict=True)) for s in SOURCES
            ],
        },
        lines,
    )


if __name__ == "__main__":
    main()
