"""How `research generate` and `research complete` show their results (``app.generate`` /
``app.complete``): the papers table, the token line, the failures and what to do next; exit 3
when a request failed or no paper came out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from ._common import EXIT_FAILED, console, cut, out
from ._report import ConsoleReport

if TYPE_CHECKING:
    from ..app.complete import CompleteResult
    from ..app.generate import GenerateResult, PapersResult


def report_for(enrich: bool) -> ConsoleReport:
    """Steps are shown with --verbose, and while enriching (minutes of network with no token line)."""
    from ._noise import verbose

    return ConsoleReport(quiet_steps=not (verbose() or enrich))


def show_generate(result: GenerateResult) -> None:
    for pid, verdict in result.novelty:
        console.print(f"novelty {pid}: {verdict}", soft_wrap=True, markup=False)
    if result.kept:
        kept = ", ".join(f"{pid} ({why})" for pid, why in result.kept)
        console.print(
            f"Kept {len(result.kept)} paper(s) as they were, further on than this command would take them: "
            f"{kept}. Add --redo to generate them again (the earlier version is kept as paper.vN.json).",
            soft_wrap=True,
        )
    _papers(result)
    for note in result.engine_notes:  # once, not once per paper
        console.print(f"[yellow]warning:[/] {escape(note)}", soft_wrap=True)
    _failures(result, f"rerun with --resume -o {result.run}")
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)
    if not result.written:
        return
    if result.two_stage:
        # one line however narrow the terminal: a command folded at 80 columns breaks when pasted
        console.print(
            f"Next: run your experiments, then: cycleresearcher research complete {result.run} --results results.json",
            soft_wrap=True, markup=False, highlight=False,
        )
    else:
        _results_kind(result)


def show_complete(result: CompleteResult) -> None:
    if result.rewritten:
        console.print(
            f"{result.rewritten} paper(s) were already complete with these results; their files were written "
            "again from the run store (no model call).",
            soft_wrap=True,
        )
    _papers(result)
    _failures(result, "rerun the same command")
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)
    _results_kind(result)


def _papers(result: PapersResult) -> None:
    from rich.table import Table

    table = Table(title=f"Papers in {result.run}")
    for col in ("id", "title", "warnings", "pdf"):
        table.add_column(col)
    for info in result.written:
        title = escape(cut(info["title"] or "")) or "[i]no title parsed[/]"
        table.add_row(info["id"], title, str(info["warnings"]), escape(_pdf_cell(info, result.pdf)))
    if result.written:
        out.print(table)
    s = result.stats
    tokens = (
        f"{s.prompt_tokens} prompt + {s.completion_tokens} generated tokens ({s.tok_s:.1f} tok/s in the engine)"
        if s.generated
        else "nothing was generated in this run (the papers come from the run store)"
    )
    console.print(
        f"{len(result.written)} paper(s) in {s.elapsed_s:.1f} s; {tokens}; {len(result.failures)} failed request(s).",
        soft_wrap=True,
    )


def _pdf_cell(info: dict, asked: bool) -> str:
    if info["pdf"]:
        return info.get("pdf_status") or "yes"  # "yes", or "PDF with problems: <the first>"
    if not asked:
        return "not asked"
    return f"no: {info.get('pdf_error') or 'no PDF'}"


def _failures(result: PapersResult, retry: str) -> None:
    if result.failures:
        first = result.failures[0].splitlines()[0] if result.failures[0] else ""
        console.print(
            f"[bold red]{len(result.failures)} sample(s) failed[/] (nothing exported for them); first error: "
            f"{escape(first)}. Fix the cause, then {retry} to retry only those.",
            soft_wrap=True,
        )


def _results_kind(result: PapersResult) -> None:
    if result.simulated:
        console.print(
            f"[bold]Results in {result.simulated} of these {len(result.written)} draft(s) are SIMULATED by the model, "
            "not measured.[/] Use --two-stage to supply real results.",
            soft_wrap=True,
        )
    else:
        console.print("Results in these papers are the REAL results you supplied.", soft_wrap=True)
    if result.ungrounded:
        console.print(
            f"[yellow]{result.ungrounded} number(s) in the results text match none of the results[/]: "
            "'ungrounded_numbers' in paper.json, listed in paper.md.",
            soft_wrap=True,
        )
