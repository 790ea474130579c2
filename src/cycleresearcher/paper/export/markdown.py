"""The Markdown export: the paper's texts, setup and results (tables, plots), the numbers that
match no supplied result, the LaTeX source and the parser's warnings."""

from __future__ import annotations

import json
from pathlib import Path

from ... import atomic
from ...latex import plain_title
from ...markdown_text import fenced
from ..local_paths import public
from ..record import Paper, Stage
from .disclosure import DISCLOSURE, results_notice
from .figures import ResultFigure
from .results_latex import SIMULATED_TAG


def to_markdown(paper: Paper, figures: list[ResultFigure] | None = None, figures_dir: str = "") -> str:
    """``figures`` (plots of the result tables) are linked as ``figures_dir/<file>``. No folder of
    the user's machine is named (``local_paths``)."""
    paper = public(paper)
    lines = [f"# {plain_title(paper.title) or 'Untitled generated paper'}", "", f"> **{DISCLOSURE}**"]
    notice = results_notice(paper)
    if notice:
        lines += [">", f"> **{notice}**"]
    if paper.stage is Stage.AWAITING_RESULTS:  # say how to supply them, where the paper is read
        lines += [
            ">",
            "> Run the experiments, then: `cycleresearcher research complete RUN --results results.json` "
            "(RUN: the run folder holding `papers/`).",
        ]
    if paper.pdf_status and not paper.pdf_status.ok:  # a PDF that is wrong says so where it is read
        lines += [">", f"> **PDF:** {paper.pdf_status.label()}"]
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
    if isinstance((paper.meta or {}).get("novelty_check"), dict):  # `research novelty` (docs/novelty.md)
        from ...novelty.report import novelty_markdown

        lines += novelty_markdown(paper.meta["novelty_check"])
    if paper.latex:
        lines += ["## LaTeX source", "", "```latex", paper.latex.strip(), "```", ""]
    reference_warnings = (paper.meta or {}).get("reference_warnings") or []
    if reference_warnings:  # reading the references, not the model's text
        lines += ["## Reference warnings", ""] + [f"- {w}" for w in reference_warnings] + [""]
    if paper.warnings:
        lines += ["## Parser warnings", ""] + [f"- {w}" for w in paper.warnings] + [""]
    if paper.generated_text.strip() and (not paper.latex or paper.warnings):
        # nothing paper-shaped was found (e.g. the tiny embedded model), or the parser warned: what
        # it could not read is only in the model's own text, so the export keeps it
        heading = "no paper structure found" if not paper.latex else "the parser warned, see above"
        lines += [f"## Raw model output ({heading})", "", *fenced(paper.generated_text), ""]
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
    atomic.write_text(path, to_markdown(paper, figures, rel))
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

    def line(r: list[object]) -> str:
        return "| " + " | ".join(md_cell(v) for v in [*r, *[""] * (width - len(r))]) + " |"

    return [line(rows[0]), "|" + "---|" * width, *[line(r) for r in rows[1:]]]


def md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def ungrounded_markdown(numbers: list[dict[str, str]] | None, grounding: dict | None) -> list[str]:
    """A Markdown section listing the numbers of the results text that match no supplied result,
    and one showing how the numbers derived from the results follow from them."""
    if numbers is None or grounding is None:
        return []
    lines = [
        "## Numbers not found in the results",
        "",
        f"{grounding.get('grounded', 0)} of {grounding.get('checked', 0)} numbers in the results text match "
        "the results or follow from them by one step; these match none of them:",
        "",
    ]
    if not numbers:
        every = "Every number in the results text matches the results or follows from them."
        if not grounding.get("checked"):  # nothing to match: no claim that all matched
            every = "The results text has no number to check against the results."
        lines = lines[:2] + [every, ""]
    for n in numbers:
        num, ctx = n.get("number", ""), n.get("context", "")
        marked = ctx.replace(num, f"**{num}**", 1) if num in ctx else ctx
        lines.append(f"- **{md_cell(num)}**: …{md_cell(marked)}…")
    if numbers:
        lines.append("")
    derived = [d for d in grounding.get("derived") or [] if isinstance(d, dict)]
    if derived:
        lines += [
            "## Numbers derived from the results",
            "",
            "Not in the results as such; each follows by one step:",
            "",
        ]
        lines += [
            f"- **{md_cell(d.get('number', ''))}** ({md_cell(d.get('kind', ''))}): {md_cell(d.get('derivation', ''))}"
            for d in derived
        ]
        lines.append("")
    return lines


__all__ = ["export_markdown", "md_cell", "to_markdown", "ungrounded_markdown"]
