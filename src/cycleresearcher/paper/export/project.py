"""The LaTeX project of a paper: ``main.tex`` (+ ``references.bib`` and the result plots) written
to a folder and, when TeX is installed, compiled to ``main.pdf``; after a first pass the
undefined macros are given placeholder definitions and the paper is compiled again."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ... import atomic
from ..record import Paper, PdfStatus, Stage
from ..results import result_items
from .compile import COMPILE_TIMEOUT_S, compile_pdf, log_errors, log_problems
from .figures import ResultFigure
from .labels import printed_missing_refs
from .main_tex import build_main_tex, cited_keys
from .rescue import rescue_definitions, rescue_names


@dataclass
class LatexExport:
    main_tex: Path
    bib: Path | None
    pdf: Path | None
    log_excerpt: str = ""
    log: Path | None = None  # main.log, kept beside main.tex when TeX failed or reported errors
    unresolved_citations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: list[ResultFigure] = field(default_factory=list)  # plots of the result tables
    unresolved_refs: list[str] = field(default_factory=list)  # \ref labels no \label defines
    status: PdfStatus = field(default_factory=lambda: PdfStatus("not_compiled", ("not compiled",)))


def bib_keys(bibtex: str) -> set[str]:
    """The entry keys of a BibTeX text."""
    import bibtexparser

    library = bibtexparser.parse_string(bibtex)
    return {entry.key for entry in library.entries}


#: what BibTeX and \cite both take as a key: no space, brace, comma, hash, percent sign, backslash
#: or tie; an apostrophe is fine (Scopus keys such as D'Ambrosio20171339)
_KEY = re.compile(r"[^\s{}(),\"#%=\\~]+")


def missing_entries(keys: list[str]) -> str:
    """BibTeX entries for keys the model cited that the references lack: listed as such in the
    PDF (the citation resolves to an entry saying so, not to ``[?]``)."""
    return "".join(
        f"@misc{{{k},\n  title = {{{{[Not among the references given to the model]}}}},\n"
        "  note = {Cited by the model; no such reference was supplied}\n}\n"
        for k in keys
        if _KEY.fullmatch(k)
    )


def export_latex_project(
    paper: Paper,
    out_dir: str | Path,
    bibtex: str | None = None,
    compile: bool = True,
    timeout: float = COMPILE_TIMEOUT_S,
) -> LatexExport:
    """Write ``main.tex`` (+ ``references.bib``) into ``out_dir`` and, if asked and TeX is
    installed, compile ``main.pdf`` there. ``bibtex`` defaults to ``paper.references_bib``;
    ``timeout`` (seconds) bounds each compile pass, after which every TeX process is killed."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bibtex = bibtex if bibtex is not None else paper.references_bib
    warnings: list[str] = []
    keys = bib_keys(bibtex) if bibtex and bibtex.strip() else set()
    cited = cited_keys(paper.latex)
    unresolved = [k for k in cited if k not in keys]
    if unresolved:
        listed = [k for k in unresolved if _KEY.fullmatch(k)]
        unlisted = [k for k in unresolved if not _KEY.fullmatch(k)]
        if listed:
            warnings.append(
                f"{len(listed)} citation(s) not in the references (listed as such in the PDF's "
                f"references): {', '.join(listed[:10])}"
            )
        if unlisted:  # no entry can carry such a key: the PDF prints [?]
            warnings.append(
                f"{len(unlisted)} citation key(s) BibTeX cannot take (printed as [?]): {', '.join(unlisted[:10])}"
            )
    # only cited papers are listed: no bibliography (and no empty References heading) without a \cite
    bib_text = ((bibtex or "").rstrip() + "\n" + missing_entries(unresolved)).strip() + "\n" if cited else ""
    has_bib = bool(cited) and bool(bib_text.strip())
    bib_path = None
    if has_bib:
        bib_path = out / "references.bib"
        atomic.write_text(bib_path, bib_text)
    else:
        (out / "references.bib").unlink(missing_ok=True)  # one of an earlier export is not this paper's
    figures = _figures(paper, out / "figures")
    source, body_warnings = build_main_tex(paper, has_bib=has_bib, figures=figures)
    warnings += body_warnings
    refs = printed_missing_refs(source)  # build_main_tex printed them as [label] and warned
    main_tex = out / "main.tex"
    atomic.write_text(main_tex, source)
    result = LatexExport(
        main_tex=main_tex, bib=bib_path, pdf=None, unresolved_citations=unresolved, warnings=warnings,
        figures=figures, unresolved_refs=refs,
    )  # fmt: skip
    if not compile:
        return result
    if shutil.which("pdflatex") is None or shutil.which("bibtex") is None:
        warnings.append("pdflatex/bibtex not found: main.tex written, no PDF (install TeX Live)")
        result.status = PdfStatus("not_compiled", ("pdflatex/bibtex not found (install TeX Live)",))
        return result
    assets = [f.path for f in figures]
    # the first compile stops after one pass when the log has something to rescue (it is redone)
    pdf, log, timed_out = compile_pdf(
        source, bib_text if has_bib else None, timeout, assets, lambda first: bool(rescue_definitions(first))
    )
    rescue = "" if timed_out else rescue_definitions(log, source)  # a second pass would only time out again
    if rescue:
        warnings.append(
            "placeholder definitions added for unknown LaTeX commands/characters: " + rescue_names(rescue)
        )
        source, _ = build_main_tex(paper, has_bib=has_bib, rescue=rescue, figures=figures)
        atomic.write_text(main_tex, source)
        pdf, log, timed_out = compile_pdf(source, bib_text if has_bib else None, timeout, assets)
    errors = log_errors(log)
    problems = log_problems(log)
    if pdf is not None:
        target = out / "main.pdf"
        atomic.write_bytes(target, pdf)
        result.pdf = target
        result.status = PdfStatus("problems" if problems else "ok", tuple(problems))
        if problems:
            warnings.append(
                f"PDF with problems ({len(problems)}): {problems[0]}; see the log excerpt and main.log"
            )
    elif timed_out:
        warnings.append(
            f"LaTeX compile stopped after {timeout:g} s (a macro that never ends?): no PDF; "
            "fix the LaTeX in main.tex and compile it yourself, or export without a PDF"
        )
    else:
        warnings.append("LaTeX compile failed: no PDF; see the log excerpt and main.log")
    if pdf is None:
        (out / "main.pdf").unlink(missing_ok=True)  # a PDF of an earlier export is not this paper
    log_path = out / "main.log"
    if log and (pdf is None or problems):  # the compile ran in a temp dir that is gone: keep its log
        atomic.write_text(log_path, log)
        result.log = log_path
    else:
        log_path.unlink(missing_ok=True)  # a log of an earlier export is not this paper's
    result.log_excerpt = "\n".join(errors)[:4000] if errors else ("" if pdf else log[-3000:])
    if pdf is None:
        why = pdf_failure(result)
        result.status = PdfStatus("failed", (why, *(x for x in problems if x != why)))
    return result


def _figures(paper: Paper, folder: Path) -> list[ResultFigure]:
    """Plots of the paper's result tables (none while it awaits results)."""
    if paper.stage is Stage.AWAITING_RESULTS:
        return []
    items = result_items(paper.experimental_results)
    if not any(item.table for item in items):
        return []
    from .figures import plot_result_tables  # matplotlib loads only when there is a table to plot

    return plot_result_tables(items, folder, simulated=paper.results_simulated)


def pdf_failure(latex: LatexExport) -> str:
    """Why no PDF came out, in one line: the first TeX error of the log, else the warning."""
    for line in latex.log_excerpt.splitlines():
        if line.startswith("!"):
            return line.lstrip("! ").strip()[:200]
    why = next((w for w in latex.warnings if "PDF" in w), None)
    tail = [ln.strip() for ln in latex.log_excerpt.splitlines() if ln.strip()]
    return (why or "no PDF") + (f": {tail[-1][:200]}" if tail and why and "not found" not in why else "")


__all__ = ["LatexExport", "bib_keys", "export_latex_project", "pdf_failure"]
