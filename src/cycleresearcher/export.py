"""Exports of a Paper: JSON, Markdown, and a LaTeX project compiled to PDF.

Every export says the text was written by a language model, and, when the model wrote its own
"results" (EOS ignored), that they were simulated, not measured (in the PDF: a box under the
title and a header on every page).

The LaTeX compile is sandboxed as far as TeX allows: a temporary directory, ``-no-shell-escape``,
``openin_any=p`` / ``openout_any=p`` (no absolute paths, no ``..``), stdin closed, a timeout.
Model LaTeX uses macros of the papers it learnt from (``\\cS``, ``\\armab``, ...); after a first
pass the undefined ones are given visible placeholder definitions and the paper is compiled again.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .figures import ResultFigure
from .paper import Paper, open_environments
from .results import result_items
from .results_render import SIMULATED_TAG, results_section_latex, ungrounded_markdown, unresolved_refs

DISCLOSURE = (
    "AI-generated text: this paper was written by a language model (CycleResearcher) from a list of "
    "references. It has not been checked or peer reviewed by people; claims, citations and numbers may be wrong."
)
SIMULATED_NOTICE = "Results simulated by the model, not measured: no experiment in this paper was run."

COMPILE_TIMEOUT_S = 180

_CITE = re.compile(r"\\(?:[Cc]ite[a-zA-Z]*|nocite)\*?\s*(?:\[[^\]]*\]\s*){0,2}\{([^{}]*)\}")
_UNDEFINED_ENV = re.compile(r"! LaTeX Error: Environment (\S+) undefined\.")
_UNICODE = re.compile(r"! LaTeX Error: Unicode character .*? \(U\+([0-9A-F]{4,6})\)")


@dataclass
class LatexExport:
    main_tex: Path
    bib: Path | None
    pdf: Path | None
    log_excerpt: str = ""
    unresolved_citations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: list[ResultFigure] = field(default_factory=list)  # plots of the result tables
    unresolved_refs: list[str] = field(default_factory=list)  # \ref labels no \label defines


def export_json(paper: Paper, path: str | Path) -> Path:
    """The Paper record (model-card keys at the top level) plus a ``disclosure`` field."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    notices = [DISCLOSURE] + ([SIMULATED_NOTICE] if paper.results_simulated else [])
    record = {"disclosure": " ".join(notices), **paper.to_dict()}
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def to_markdown(paper: Paper, figures: list[ResultFigure] | None = None, figures_dir: str = "") -> str:
    """``figures`` (plots of the result tables) are linked as ``figures_dir/<file>``."""
    lines = [f"# {paper.title or 'Untitled generated paper'}", "", f"> **{DISCLOSURE}**"]
    if paper.results_simulated:
        lines += [">", f"> **{SIMULATED_NOTICE}**"]
    lines.append("")
    scores = [
        f"{k}: {getattr(paper, k)}"
        for k in ("interestingness", "feasibility", "novelty")
        if getattr(paper, k) is not None
    ]
    if scores:  # the model's own scores; omitted when it wrote none
        lines += [f"*Self-assessed {', '.join(scores)}*", ""]
    for heading, text in (
        ("Abstract", paper.abstract),
        ("Motivation", paper.motivation),
        ("Main idea", paper.idea),
    ):
        if text:
            lines += [f"## {heading}", "", text.strip(), ""]
    if paper.experimental_setup is not None:
        lines += ["## Experimental setup", ""]
        lines += _experiments_md(paper.experimental_setup)
    if paper.experimental_results is not None:
        label = "Experimental results (simulated)" if paper.results_simulated else "Experimental results"
        lines += [f"## {label}", ""]
        lines += _experiments_md(
            paper.experimental_results, paper.results_simulated, figures or [], figures_dir
        )
    lines += ungrounded_markdown(paper.ungrounded_numbers, paper.grounding)
    if paper.latex:
        lines += ["## LaTeX source", "", "```latex", paper.latex.strip(), "```", ""]
    elif paper.generated_text.strip():
        # nothing paper-shaped was found (e.g. the tiny embedded model): show what the model wrote
        fence = "~~~~" if "```" in paper.generated_text else "```"
        lines += [
            "## Raw model output (no paper structure found)",
            "",
            fence,
            paper.generated_text.strip(),
            fence,
            "",
        ]
    if paper.warnings:
        lines += ["## Parser warnings", ""] + [f"- {w}" for w in paper.warnings] + [""]
    return "\n".join(lines)


def export_markdown(paper: Paper, path: str | Path, figures: list[ResultFigure] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rel = ""
    if figures:
        try:
            rel = str(figures[0].path.parent.relative_to(path.parent))
        except ValueError:
            rel = str(figures[0].path.parent)
    path.write_text(to_markdown(paper, figures, rel), encoding="utf-8")
    return path


def _experiments_md(
    value: object, simulated: bool = False, figures: list[ResultFigure] | None = None, figures_dir: str = ""
) -> list[str]:
    items = value if isinstance(value, list) else [value]
    plots = {f.item: f for f in figures or []}
    out: list[str] = []
    for index, item in enumerate(items, 1):
        if not isinstance(item, dict):
            out += ["```json", json.dumps(item, indent=2, ensure_ascii=False), "```", ""]
            continue
        out += [f"### {item.get('name', 'Experiment')}", ""]
        if item.get("description"):
            out += [str(item["description"]), ""]
        result = item.get("result")
        if isinstance(result, dict):
            table = result.get("table")
            if isinstance(table, list) and table and all(isinstance(r, list) for r in table):
                if simulated:  # every table of simulated results says so
                    out += [f"*Table: {item.get('name', 'Experiment')} ({SIMULATED_TAG})*", ""]
                out += _md_table(table) + [""]
            if result.get("description"):
                out += [str(result["description"]), ""]
            for note in result.get("notes") or [] if isinstance(result.get("notes"), list) else []:
                out += [f"*Note:* {note}", ""]
            if index in plots:
                fig = plots[index]
                where = f"{figures_dir}/{fig.path.name}" if figures_dir else fig.path.name
                out += [f"![{fig.caption}]({where})", "", f"*Figure: {fig.caption}*", ""]
        elif result is not None:
            out += [str(result), ""]
        rest = {k: v for k, v in item.items() if k not in ("name", "description", "result")}
        if isinstance(result, dict):
            rest.update({k: v for k, v in result.items() if k not in ("table", "description", "notes")})
        if rest:
            out += ["```json", json.dumps(rest, indent=2, ensure_ascii=False), "```", ""]
    return out


def _md_table(rows: list[list[object]]) -> list[str]:
    width = max(len(r) for r in rows)

    def cell(v: object) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    def line(r: list[object]) -> str:
        return "| " + " | ".join(cell(v) for v in [*r, *[""] * (width - len(r))]) + " |"

    return [line(rows[0]), "|" + "---|" * width, *[line(r) for r in rows[1:]]]


# ----------------------------------------------------------------------------- LaTeX project

_PREAMBLE = r"""\documentclass[11pt]{article}
% Packages outside the LaTeX core are loaded only when installed, so a small TeX still compiles.
\newcommand{\CRoptionalpackage}[2][]{\IfFileExists{#2.sty}{\usepackage[#1]{#2}}{}}
\usepackage[utf8]{inputenc}
\IfFileExists{lmodern.sty}{\usepackage[T1]{fontenc}\usepackage{lmodern}}{}
\usepackage[margin=1in]{geometry}
\usepackage{amsmath,amssymb,amsthm}
\CRoptionalpackage{mathtools}
\CRoptionalpackage{bm}
\usepackage{booktabs,multirow,array,tabularx}
\CRoptionalpackage{makecell}
\CRoptionalpackage{diagbox}
\CRoptionalpackage{adjustbox}
\CRoptionalpackage{pifont}
\usepackage{graphicx}
%SUBFIGURES%
\CRoptionalpackage{wrapfig}
\usepackage[table]{xcolor}
\CRoptionalpackage[shortlabels]{enumitem}
\usepackage{url}
\IfFileExists{fvextra.sty}{\usepackage{fvextra}\DefineVerbatimEnvironment{CRraw}{Verbatim}{breaklines,breakanywhere,fontsize=\small}}{\usepackage{verbatim}\newenvironment{CRraw}{\verbatim}{\endverbatim}}
\usepackage{xspace}
\usepackage[numbers,sort]{natbib}
\CRoptionalpackage{algorithm}
%ALGORITHMIC%
\usepackage{fancyhdr}
\usepackage[hidelinks]{hyperref}
\CRoptionalpackage[capitalise,nameinlink]{cleveref}
\newtheorem{theorem}{Theorem}
\newtheorem{lemma}[theorem]{Lemma}
\newtheorem{proposition}[theorem]{Proposition}
\newtheorem{corollary}[theorem]{Corollary}
\newtheorem{definition}[theorem]{Definition}
\newtheorem{assumption}[theorem]{Assumption}
\newtheorem{remark}[theorem]{Remark}
\newtheorem{example}[theorem]{Example}
\providecommand{\eg}{e.g.\xspace}
\providecommand{\ie}{i.e.\xspace}
\providecommand{\etal}{et al.\xspace}
% Generated figures do not exist: show a placeholder instead of stopping the compile.
\let\CRincludegraphics\includegraphics
\renewcommand{\includegraphics}[2][]{\IfFileExists{#2}{\CRincludegraphics[#1]{#2}}{%
  \fbox{\parbox{0.6\linewidth}{\centering\small\ttfamily [figure not available: \detokenize{#2}]}}}}
\pagestyle{fancy}
\fancyhf{}
\fancyhead[C]{\footnotesize\color{red!60!black}%HEADER%}
\fancyfoot[C]{\thepage}
%RESCUE%
"""


def build_main_tex(
    paper: Paper, has_bib: bool, rescue: str = "", figures: list[ResultFigure] | None = None
) -> tuple[str, list[str]]:
    """main.tex for a paper; returns (source, warnings). The results (tables and ``figures``, files
    under ``figures/``) follow the model's text in their own section."""
    warnings: list[str] = []
    body = _body(paper.latex, warnings)
    if (paper.meta or {}).get("stage") != "awaiting_results":
        items = result_items(paper.experimental_results)
        section = results_section_latex(items, figures or [], paper.results_simulated)
        body = f"{body}\n\n{section}" if section else body
        if paper.experimental_results is not None and not items:
            warnings.append("the results do not have the documented shape: no result tables in the PDF")
    if not paper.latex.strip() and paper.generated_text.strip():
        # no LaTeX parsed: print the raw output verbatim rather than an empty paper
        raw = paper.generated_text.strip().replace(r"\end{CRraw}", r"\end {CRraw}")
        # CRraw breaks long lines inside the page (fvextra); plain verbatim when fvextra is missing
        body = (
            "\\section*{Raw model output (no paper structure found)}\n\\begin{CRraw}\n"
            + raw
            + "\n\\end{CRraw}\n"
        )
        warnings.append("no LaTeX was parsed; the PDF shows the raw model output")
    header = "AI-generated draft" + (
        " --- results simulated, not measured" if paper.results_simulated else ""
    )
    notice = _latex_escape(DISCLOSURE)
    if paper.results_simulated:
        notice += r"\\[4pt]\textbf{" + _latex_escape(SIMULATED_NOTICE) + "}"
    algorithmic = (
        r"\CRoptionalpackage{algpseudocode}"
        if re.search(r"\\State\b|\\Procedure\b|\\EndFor\b", body)
        else r"\CRoptionalpackage{algorithmic}"
    )
    # \subfigure[..]{..} as a command is the old subfigure package; subcaption makes it an environment.
    subfigures = (
        r"\CRoptionalpackage{subfigure}"
        if re.search(r"\\subfigure\s*[\[{]", body)
        else r"\CRoptionalpackage{subcaption}"
    )
    preamble = (
        _PREAMBLE.replace("%ALGORITHMIC%", algorithmic)
        .replace("%SUBFIGURES%", subfigures)
        .replace("%HEADER%", header)
        .replace("%RESCUE%", rescue)
    )
    title = _title(paper.title, warnings) or "Untitled generated paper"
    parts = [
        preamble,
        rf"\title{{{title}}}",
        r"\author{Generated by CycleResearcher (AI)}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        r"\thispagestyle{fancy}",
        r"\begin{center}\fcolorbox{red!70!black}{red!5}{\parbox{0.9\linewidth}{\small "
        + notice
        + r"}}\end{center}",
        "",
        body,
        "",
    ]
    if has_bib:
        parts += [r"\bibliographystyle{plainnat}", r"\bibliography{references}"]
    parts += [r"\end{document}", ""]
    return "\n".join(parts), warnings


def _body(latex: str, warnings: list[str]) -> str:
    body = latex
    m = re.search(r"\\begin\{document\}(.*?)(?:\\end\{document\}|$)", body, re.S)
    if m:  # the model wrote a whole document: keep what is inside it
        body = m.group(1)
    body = _remove_command(body, "title")
    body = re.sub(
        r"\\(?:maketitle|bibliography\{[^}]*\}|bibliographystyle\{[^}]*\}|end\{document\})", "", body
    )
    body = body.replace("```", "")
    # A generated paper has no side files; a missing \input would stop TeX (stdin is closed).
    inputs = re.findall(r"\\(?:input|include)\s*\{([^{}]*)\}", body)
    if inputs:
        warnings.append(f"removed \\input/\\include of files that do not exist: {', '.join(inputs[:5])}")
        body = re.sub(r"\\(?:input|include)\s*\{[^{}]*\}", "", body)
    body = _FIGURE.sub(_figure_placeholder, body)
    # Truncated text: close groups first (they usually open inside the last environment), then environments.
    depth = _brace_depth(body)
    if depth > 0:
        warnings.append(f"closed {depth} unbalanced '{{'")
        body = body.rstrip() + "}" * depth
    still_open = open_environments(body)
    if still_open:
        warnings.append(f"closed environments left open by the generation: {', '.join(reversed(still_open))}")
        body = body.rstrip() + "\n" + "\n".join(rf"\end{{{name}}}" for name in reversed(still_open))
    return body.strip()


#: commands that have no business in a title: file/structure commands and (re)definitions
_TITLE_DROP = re.compile(
    r"\\(?:input|include)\s*\{[^{}]*\}|\\bibliography(?:style)?\s*\{[^{}]*\}|\\(?:begin|end)\s*\{document\}"
    r"|\\(?:maketitle|title|documentclass|[egx]?def|let|futurelet|catcode|makeatletter|makeatother"
    r"|(?:re)?newcommand|providecommand|DeclareRobustCommand)(?![A-Za-z@])\*?"
)


def _title(title: str, warnings: list[str]) -> str:
    """The model's title made safe inside ``\\title{...}``, as the body is made safe: no \\input or
    document-structure commands (nor definitions), one line (``\\title`` takes no paragraph),
    ``%``/``#``/``&`` escaped (a bare ``%`` would comment out the closing brace), braces balanced
    (a stray ``}`` would end ``\\title`` early) and ``$`` paired."""
    flat = " ".join(title.split())
    text = _TITLE_DROP.sub("", flat)
    tokens = re.findall(r"\\[A-Za-z@]+\*?|\\.|.", text)  # a lone trailing backslash is dropped
    dollars = sum(t == "$" for t in tokens)
    out: list[str] = []
    depth = 0
    for t in tokens:
        if t == "\\":
            continue
        if t in ("%", "#", "&") or (t == "$" and dollars % 2):
            t = "\\" + t
        elif t == "{":
            depth += 1
        elif t == "}":
            if depth == 0:
                continue
            depth -= 1
        out.append(t)
    safe = " ".join(("".join(out) + "}" * depth).split())
    if safe != flat:
        warnings.append("the title was made safe for LaTeX (unbalanced braces, comments or commands removed)")
    return safe


_FIGURE = re.compile(r"\\begin\{(figure\*?)\}(.*?)\\end\{\1\}", re.S)


def _figure_placeholder(m: re.Match[str]) -> str:
    """A generated paper's image files never exist: keep the caption and label, box the rest."""
    env, inner = m.group(1), m.group(2)
    if "\\includegraphics" not in inner:
        return m.group(0)
    caption = _command_argument(inner, "caption")
    labels = "".join(f"\\label{{{x}}}" for x in re.findall(r"\\label\{([^{}]*)\}", inner))
    files = ", ".join(re.findall(r"\\includegraphics\s*(?:\[[^\]]*\])?\{([^{}]*)\}", inner))
    box = (
        "\\centering\\fbox{\\parbox{0.8\\linewidth}{\\centering\\small\\ttfamily [figure not available: "
        + _latex_escape(files)
        + "]}}"
    )
    cap = f"\\caption{{{caption}}}" if caption is not None else ""
    return f"\\begin{{{env}}}[ht]\n{box}\n{cap}{labels}\n\\end{{{env}}}"


def _command_span(s: str, name: str) -> tuple[int, int, int | None] | None:
    """(start of ``\\name``, start of its braced argument, index of the closing brace or None when
    the argument never closes), or None when the command is absent."""
    m = re.search(rf"\\{name}\s*(?:\[[^\]]*\]\s*)?\{{", s)
    if not m:
        return None
    depth, j = 0, m.end() - 1
    while j < len(s):
        if s[j] == "\\":
            j += 2
            continue
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return m.start(), m.end(), j
        j += 1
    return m.start(), m.end(), None


def _command_argument(s: str, name: str) -> str | None:
    span = _command_span(s, name)
    return s[span[1] : span[2]] if span and span[2] is not None else None


def _remove_command(s: str, name: str) -> str:
    span = _command_span(s, name)
    if span is None:
        return s
    start, _, end = span
    return s[:start] if end is None else s[:start] + s[end + 1 :]  # an unclosed argument runs to the end


def _brace_depth(s: str) -> int:
    depth = 0
    for line in s.splitlines():
        line = re.sub(r"(?<!\\)%.*", "", line)
        line = re.sub(r"\\.", "", line)
        for c in line:
            depth = depth + 1 if c == "{" else depth - 1 if c == "}" and depth > 0 else depth
    return depth


def _latex_escape(text: str) -> str:
    table = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\~{}"}
    return "".join(table.get(c, c) for c in text)


def cited_keys(latex: str) -> list[str]:
    """Citation keys used by ``\\cite``-family commands, in first-use order."""
    keys: list[str] = []
    for m in _CITE.finditer(re.sub(r"(?<!\\)%.*", "", latex)):
        for key in m.group(1).split(","):
            key = key.strip()
            if key and key != "*" and key not in keys:
                keys.append(key)
    return keys


def bib_keys(bibtex: str) -> set[str]:
    import bibtexparser

    library = bibtexparser.parse_string(bibtex)
    return {entry.key for entry in library.entries}


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
        warnings.append(f"{len(unresolved)} citation(s) not in the references: {', '.join(unresolved[:10])}")
    bib_path = None
    if keys:
        bib_path = out / "references.bib"
        bib_path.write_text(bibtex if bibtex.endswith("\n") else bibtex + "\n", encoding="utf-8")
    figures = _figures(paper, out / "figures")
    source, body_warnings = build_main_tex(paper, has_bib=bool(keys), figures=figures)
    warnings += body_warnings
    refs = unresolved_refs(source)
    if refs:
        warnings.append(f"{len(refs)} \\ref label(s) defined nowhere (shown as ??): {', '.join(refs[:10])}")
    main_tex = out / "main.tex"
    main_tex.write_text(source, encoding="utf-8")
    result = LatexExport(
        main_tex=main_tex, bib=bib_path, pdf=None, unresolved_citations=unresolved, warnings=warnings,
        figures=figures, unresolved_refs=refs,
    )  # fmt: skip
    if not compile:
        return result
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        warnings.append("latexmk/pdflatex not found: main.tex written, no PDF (install TeX Live and latexmk)")
        return result
    assets = [f.path for f in figures]
    pdf, log, timed_out = _compile(source, bibtex if keys else None, timeout, assets)
    rescue = "" if timed_out else _rescue_definitions(log)  # a second pass would only time out again
    if rescue:
        warnings.append(
            "placeholder definitions added for unknown LaTeX commands/characters: " + _names(rescue)
        )
        source, _ = build_main_tex(paper, has_bib=bool(keys), rescue=rescue, figures=figures)
        main_tex.write_text(source, encoding="utf-8")
        pdf, log, timed_out = _compile(source, bibtex if keys else None, timeout, assets)
    errors = _log_errors(log)
    if pdf is not None:
        target = out / "main.pdf"
        target.write_bytes(pdf)
        result.pdf = target
        if errors:
            warnings.append(f"the PDF was produced despite {len(errors)} LaTeX error(s); see the log excerpt")
    elif timed_out:
        warnings.append(
            f"LaTeX compile stopped after {timeout:g} s (a macro that never ends?): no PDF; "
            "fix the LaTeX in main.tex and compile it yourself, or export without a PDF"
        )
    else:
        warnings.append("LaTeX compile failed: no PDF; see the log excerpt")
    if pdf is None:
        (out / "main.pdf").unlink(missing_ok=True)  # a PDF of an earlier export is not this paper
    result.log_excerpt = "\n".join(errors)[:4000] if errors else ("" if pdf else log[-3000:])
    return result


def _compile(
    source: str, bibtex: str | None, timeout: float = COMPILE_TIMEOUT_S, assets: list[Path] | None = None
) -> tuple[bytes | None, str, bool]:
    """Compile in a fresh temp dir that is always removed; return (PDF bytes or None, log text,
    whether the compile timed out). ``assets`` (our figure files) are copied to ``figures/`` there,
    where main.tex includes them."""
    work = Path(tempfile.mkdtemp(prefix="cr-latex-"))
    try:
        (work / "main.tex").write_text(source, encoding="utf-8")
        for asset in assets or []:
            (work / "figures").mkdir(exist_ok=True)
            shutil.copyfile(asset, work / "figures" / asset.name)
        if bibtex:
            (work / "references.bib").write_text(bibtex, encoding="utf-8")
        env = {**os.environ, "openin_any": "p", "openout_any": "p", "shell_escape": "f"}
        cmd = [
            "latexmk",
            "-pdf",
            "-f",  # go on past errors: a PDF with a few broken lines beats none
            "-interaction=nonstopmode",
            "-no-shell-escape",
            "main.tex",
        ]
        output, timed_out = _run_tex(cmd, work, env, timeout)
        log_file = work / "main.log"
        log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
        if timed_out:  # the note goes last: the log excerpt shown to the user is the tail
            log = f"{log}\n{output.strip()}".strip()
        elif not log:
            log = output
        pdf = work / "main.pdf"
        data = pdf.read_bytes() if not timed_out and pdf.exists() and pdf.stat().st_size > 0 else None
        return data, log, timed_out
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- running TeX: a process group that never outlives the compile ---------------------------------
#
# latexmk starts pdflatex/bibtex as its own children, so killing latexmk alone leaves a looping
# pdflatex (``\def\x{\x}\x``) re-parented to init. Each compile therefore runs in a new session
# (process group) led by a tiny watchdog that (1) caps every TeX process's CPU time, which is
# inherited across fork/exec, (2) kills the group when the Python parent disappears, even by
# SIGKILL (it polls getppid; portable, unlike PR_SET_PDEATHSIG, which would not reach pdflatex
# anyway) and (3) kills stragglers when latexmk ends. The parent kills the whole group on timeout,
# on any exception (KeyboardInterrupt included) and at interpreter exit.

_WATCHDOG = r"""
import os, shutil, signal, subprocess, sys, time
parent, cpu, work, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
try:
    import resource
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
except (ImportError, ValueError, OSError):
    pass
child = None
def stop(*_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)
    deadline = time.monotonic() + 2
    while child is not None and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if os.getppid() != parent and os.path.basename(work).startswith("cr-latex-"):
        # nobody else is left to remove the folder: a child moved out of the group does, once
        # the SIGKILL below has stopped every writer
        pid = os.fork()
        if pid == 0:
            for _ in range(150):
                shutil.rmtree(work, ignore_errors=True)
                if not os.path.exists(work):
                    break
                time.sleep(0.2)
            os._exit(0)
        os.setpgid(pid, pid)  # done here, not in the child, so it is out before the SIGKILL
    os.killpg(0, signal.SIGKILL)  # the rest of the group, this process included
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
if os.getppid() != parent:
    stop()
child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
while True:
    try:
        rc = child.wait(timeout=0.2)
        break
    except subprocess.TimeoutExpired:
        if os.getppid() != parent:
            stop()
if os.getppid() != parent:  # latexmk may end on its own then (SIGPIPE on the parent's pipe)
    stop()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.killpg(0, signal.SIGTERM)  # anything latexmk left behind
sys.exit(rc)
"""

#: process groups of compiles in progress, killed at interpreter exit (a daemon thread's compile)
_LIVE_GROUPS: set[int] = set()
_KILL_GRACE_S = 3.0


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the compile's process group, then SIGKILL it. The leader is not reaped until this
    returns, so its pid (= the group id) cannot have been reused by an unrelated process."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + _KILL_GRACE_S
    while hasattr(os, "waitid") and time.monotonic() < deadline:
        try:  # WNOWAIT: see whether the leader ended without reaping it
            if os.waitid(os.P_PID, pgid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                break
        except ChildProcessError:
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_live_groups() -> None:
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


atexit.register(_kill_live_groups)


def _run_tex(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[str, bool]:
    """Run ``cmd`` (latexmk) in ``cwd``; return (its output, whether it timed out)."""
    if os.name != "posix":  # no process groups: the plain timeout is all there is
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                errors="replace", timeout=timeout,
            )  # fmt: skip
            return proc.stdout + proc.stderr, False
        except subprocess.TimeoutExpired:
            return f"latexmk timed out after {timeout:g} s", True
    cpu = max(1, math.ceil(timeout)) + 1
    watchdog = [sys.executable, "-I", "-c", _WATCHDOG, str(os.getpid()), str(cpu), str(cwd), *cmd]
    proc = subprocess.Popen(
        watchdog, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
    )  # fmt: skip
    _LIVE_GROUPS.add(proc.pid)
    try:
        try:
            out, _ = proc.communicate(timeout=timeout)
            return out or "", False
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()
            return f"{out or ''}\nlatexmk timed out after {timeout:g} s; the compile was stopped", True
        except BaseException:
            _kill_group(proc)
            proc.wait()
            raise
    finally:
        _LIVE_GROUPS.discard(proc.pid)


def _figures(paper: Paper, folder: Path) -> list[ResultFigure]:
    """Plots of the paper's result tables (none while it awaits results)."""
    if (paper.meta or {}).get("stage") == "awaiting_results":
        return []
    items = result_items(paper.experimental_results)
    if not any(item.table for item in items):
        return []
    from .figures import plot_result_tables  # matplotlib loads only when there is a table to plot

    return plot_result_tables(items, folder, simulated=paper.results_simulated)


def _log_errors(log: str) -> list[str]:
    lines = log.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("!"):
            out += lines[i : i + 3]
    return out[:60]


_GREEK = set(
    [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
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
        "chi",
        "psi",
        "omega",
    ]
)


def _rescue_definitions(log: str) -> str:
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
            name = _unicode_name(int(code, 16))
            repl = rf"\ensuremath{{\{name}}}" if name in _GREEK else "?"
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


def _unicode_name(cp: int) -> str:
    import unicodedata

    try:
        name = unicodedata.name(chr(cp))
    except ValueError:
        return ""
    m = re.match(r"GREEK SMALL LETTER (\w+)$", name)
    return m.group(1).lower() if m else ""


def _names(rescue: str) -> str:
    names = re.findall(
        r"\\providecommand\{(\\[^}]*)\}|\\newenvironment\{([^}]*)\}|\\DeclareUnicodeCharacter\{([^}]*)\}",
        rescue,
    )
    flat = [next(x for x in group if x) for group in names]
    return ", ".join(flat[:15]) + (" ..." if len(flat) > 15 else "")


__all__ = [
    "DISCLOSURE",
    "SIMULATED_NOTICE",
    "LatexExport",
    "export_json",
    "export_markdown",
    "export_latex_project",
    "to_markdown",
    "build_main_tex",
    "cited_keys",
]


def export_paper(paper: Paper, run_dir: str | Path, pdf: bool = True) -> dict[str, Any]:
    """The per-paper files of a run, as the CLI and the web page write them:
    ``<run>/papers/<id>/paper.json``, ``paper.md`` and, once the paper is complete (not awaiting real
    results), the LaTeX project ``latex/`` compiled to PDF when ``pdf`` and TeX is installed.
    After a redo of the results the earlier files are kept as ``paper.vN.json``, ``paper.vN.md``,
    ``latex.vN/``."""
    folder = Path(run_dir) / "papers" / str(paper.id)
    folder.mkdir(parents=True, exist_ok=True)
    versions = (paper.meta or {}).get("versions") or []
    if versions:  # results redone: keep the earlier files beside the new ones (paper.v1.json, latex.v1/)
        n = versions[-1].get("version", len(versions))
        for name, kept in (
            ("paper.json", f"paper.v{n}.json"),
            ("paper.md", f"paper.v{n}.md"),
            ("latex", f"latex.v{n}"),
        ):
            if (folder / name).exists() and not (folder / kept).exists():
                (folder / name).rename(folder / kept)
    export_json(paper, folder / "paper.json")
    complete = (paper.meta or {}).get("stage") != "awaiting_results"
    latex = (
        export_latex_project(paper, folder / "latex", paper.references_bib, compile=pdf) if complete else None
    )
    export_markdown(paper, folder / "paper.md", latex.figures if latex else None)
    info: dict[str, Any] = {
        "id": paper.id,
        "title": paper.title,
        "dir": str(folder),
        "warnings": len(paper.warnings),
        "pdf": str(latex.pdf) if latex and latex.pdf else None,
        "pdf_error": pdf_failure(latex) if latex and pdf and latex.pdf is None else None,
        "results_simulated": paper.results_simulated,
        "ungrounded": None if paper.ungrounded_numbers is None else len(paper.ungrounded_numbers),
        "unresolved_refs": latex.unresolved_refs if latex else [],
    }
    return info


def pdf_failure(latex: LatexExport) -> str:
    """Why no PDF came out, in one line: the first TeX error of the log, else the warning."""
    for line in latex.log_excerpt.splitlines():
        if line.startswith("!"):
            return line.lstrip("! ").strip()[:200]
    why = next((w for w in latex.warnings if "PDF" in w), None)
    tail = [ln.strip() for ln in latex.log_excerpt.splitlines() if ln.strip()]
    return (why or "no PDF") + (f": {tail[-1][:200]}" if tail and why and "not found" not in why else "")
