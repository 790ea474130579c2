"""main.tex of a paper: our preamble, the disclosure box, the model's LaTeX made safe to compile
(its title, a truncated body, \\input of files that do not exist, figures whose images do not),
and the supplied results as their own section."""

from __future__ import annotations

import re

from ...latex import command_argument, remove_command, strip_comments
from ..parse import open_environments
from ..record import Paper, Stage
from ..results import ResultItem, result_items
from .disclosure import DISCLOSURE, NO_RESULTS_NOTICE, PENDING_NOTICE, SIMULATED_NOTICE, results_notice
from .figures import ResultFigure
from .labels import label_model_table, mark_missing_refs, model_table_label, tie
from .repair import strip_chat_tokens, widen_tabulars
from .rescue import colour_fallbacks
from .results_latex import results_section_latex

_CITE = re.compile(r"\\(?:[Cc]ite[a-zA-Z]*|nocite)\*?\s*(?:\[[^\]]*\]\s*){0,2}\{([^{}]*)\}")


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
% the named colour sets the models' papers use (ForestGreen, Navy, DodgerBlue1, ...)
\usepackage[table,dvipsnames,svgnames,x11names]{xcolor}
\makeatletter
\newcommand{\CRcolourfallback}[2]{\@ifundefinedcolor{#1}{\colorlet{#1}{#2}}{}}
\makeatother
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
% a \ref to a label the text defines nowhere prints the label, not ??
\newcommand{\CRmissingref}[1]{\textnormal{[\detokenize{#1}]}}
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
    if paper.stage is not Stage.AWAITING_RESULTS:
        items = result_items(paper.experimental_results)
        body, section = _with_results(body, items, figures or [], paper.results_simulated)
        body = f"{body}\n\n{section}" if section else body
        if paper.experimental_results is not None and not items:
            warnings.append("the results do not have the documented shape: no result tables in the PDF")
    body, missing = mark_missing_refs(body)
    if missing:
        warnings.append(
            f"{len(missing)} \\ref label(s) defined nowhere (printed as [label]): {', '.join(missing[:10])}"
        )
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
    about_results = results_notice(paper)
    header = "AI-generated draft" + {
        SIMULATED_NOTICE: " --- results simulated, not measured",
        NO_RESULTS_NOTICE: " --- no results written",
        PENDING_NOTICE: " --- results pending",
    }.get(about_results or "", "")
    notice = latex_escape(DISCLOSURE)
    if about_results:
        notice += r"\\[4pt]\textbf{" + latex_escape(about_results) + "}"
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
        .replace("%RESCUE%", "\n".join(x for x in (colour_fallbacks(body), rescue) if x))
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


def _with_results(
    body: str, items: list[ResultItem], figures: list[ResultFigure], simulated: bool
) -> tuple[str, str]:
    """(the model's text, the results section): a supplied table the text already shows is
    referred to there (the text's table gets a label if it has none), and the labels the text's
    dangling refs mean are carried by the supplied table or figure they match."""
    ties = tie(body, items, {f.item for f in figures})
    shown: dict[int, str] = {}
    shown_figures: dict[int, str] = {}
    floats = [(span, index, "tab") for index, span in ties.shown_by.items()]
    floats += [(span, index, "fig") for index, span in ties.figure_shown_by.items()]
    # from the last float to the first, so the spans of the earlier ones stay valid
    for span, index, kind in sorted(floats, key=lambda f: -f[0][0]):
        own = model_table_label(body, span)
        name = own or (f"tab:results-{index}" if kind == "tab" else f"fig:described-{index}")
        (shown if kind == "tab" else shown_figures)[index] = name
        carried = (ties.table_labels if kind == "tab" else ties.figure_labels).get(index, [])
        extra = ([] if own else [name]) + carried
        if extra:
            body = label_model_table(body, span, extra)
    section = results_section_latex(
        items, figures, simulated, shown,
        {k: v for k, v in ties.table_labels.items() if k not in shown},
        {k: v for k, v in ties.figure_labels.items() if k not in shown_figures}, shown_figures,
    )  # fmt: skip
    return body, section


def _body(latex: str, warnings: list[str]) -> str:
    body = latex
    m = re.search(r"\\begin\{document\}(.*?)(?:\\end\{document\}|$)", body, re.S)
    if m:  # the model wrote a whole document: keep what is inside it
        body = m.group(1)
    body = remove_command(body, "title")
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
    body, tokens = strip_chat_tokens(body)
    if tokens:
        warnings.append(f"removed {tokens} chat-template token(s) left in the text (<|im_start|> ...)")
    body, widened = widen_tabulars(body)
    if widened:
        warnings.append(f"gave {widened} table(s) the columns their rows use (the specification had fewer)")
    body, stray, unclosed = _balance_groups(body)
    if stray:  # TeX would delete each with an error ("Extra }"), and the PDF would say so
        warnings.append(f"removed {stray} unmatched '}}'")
    # Truncated text: close groups first (they usually open inside the last paragraph), then environments.
    if unclosed:
        warnings.append(f"closed {unclosed} unbalanced '{{'")
    still_open = open_environments(body)
    if still_open:
        warnings.append(f"closed environments left open by the generation: {', '.join(reversed(still_open))}")
        body = body.rstrip() + "\n" + "\n".join(rf"\end{{{name}}}" for name in reversed(still_open))
    return body.strip()


def _balance_groups(body: str) -> tuple[str, int, int]:
    """``body`` without the ``}`` that close no group, and with each ``{`` left open closed at the
    end of its paragraph (a cut ``\\url{https://...`` or a forgotten ``}``: closed at the end of
    the text, the rest of the paper would sit inside it; TeX stops at a paragraph in a ``\\url``).
    Escapes and comments are left alone. Returns (body, dropped, closed)."""
    out: list[str] = []
    opened: list[int] = []  # positions in the output of the { still open
    dropped = i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            out.append(body[i : i + 2])
            i += 2
            continue
        if c == "%":
            end = body.find("\n", i)
            end = len(body) if end < 0 else end
            out.append(body[i:end])
            i = end
            continue
        if c == "{":
            opened.append(len(out))
        elif c == "}":
            if not opened:
                dropped += 1
                i += 1
                continue
            opened.pop()
        out.append(c)
        i += 1
    text = "".join(out)
    positions = [len("".join(out[:k])) for k in opened]
    for pos in reversed(positions):  # the innermost first; later inserts do not move earlier ones
        blank = re.compile(r"\n[ \t]*\n").search(text, pos)
        at = blank.start() if blank else len(text.rstrip())
        text = text[:at] + "}" + text[at:]
    return text, dropped, len(positions)


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
    caption = command_argument(inner, "caption")
    labels = "".join(f"\\label{{{x}}}" for x in re.findall(r"\\label\{([^{}]*)\}", inner))
    files = ", ".join(re.findall(r"\\includegraphics\s*(?:\[[^\]]*\])?\{([^{}]*)\}", inner))
    box = (
        "\\centering\\fbox{\\parbox{0.8\\linewidth}{\\centering\\small\\ttfamily [figure not available: "
        + latex_escape(files)
        + "]}}"
    )
    cap = f"\\caption{{{caption}}}" if caption is not None else ""
    return f"\\begin{{{env}}}[ht]\n{box}\n{cap}{labels}\n\\end{{{env}}}"


def latex_escape(text: str) -> str:
    """Plain text (our notices, file names) safe inside LaTeX."""
    table = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\~{}"}
    return "".join(table.get(c, c) for c in text)


def cited_keys(latex: str) -> list[str]:
    """Citation keys used by ``\\cite``-family commands, in first-use order."""
    keys: list[str] = []
    for m in _CITE.finditer(strip_comments(latex)):
        for key in m.group(1).split(","):
            key = key.strip()
            if key and key != "*" and key not in keys:
                keys.append(key)
    return keys


__all__ = ["build_main_tex", "cited_keys", "latex_escape"]
