"""CLI: ``cycleresearcher research generate|complete``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..progress import for_stderr, reporting
from ._aliases import OUT_ALIASES, aliased
from ._common import (
    EXIT_FAILED,
    ApiKeyOpt,
    BaseUrlOpt,
    EngineOpt,
    EngineOptOpt,
    ModelOpt,
    OutDirOpt,
    console,
    engine_options,
    guard,
    out,
)
from ._group import group
from ._rundir import check_resume, new_run_dir
from .novelty import AfterGenerate, novelty

ConstrainOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--constrain/--no-constrain",
        help="Force the output structure with a grammar (headers, scores, blocks). Default: on for the embedded model and any model with no trained format, off for the released CycleResearcher models (they follow their format already).",
    ),
]


def register(app: typer.Typer) -> None:
    research = group("research", "Generate research papers from references with CycleResearcher.")
    research.command("generate", cls=aliased(n="--samples", **OUT_ALIASES))(generate)
    research.command("complete")(complete)
    research.command("novelty")(novelty)
    app.add_typer(research, name="research")


@guard
def generate(
    refs: Annotated[
        list[Path],
        typer.Argument(
            help="Reference sets: .bib files (abstract fields or 'Abstract:' lines) or paper-record JSON. One paper set per file.",
            exists=True,
            dir_okay=False,
        ),
    ],
    samples: Annotated[
        int, typer.Option("--samples", "-n", min=1, help="Papers to sample per reference set.")
    ] = 1,
    topic: Annotated[
        Optional[str],
        typer.Option(help="Optional topic line ('Generate a research paper on the topic: ...')."),
    ] = None,
    model: ModelOpt = None,
    engine: EngineOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    engine_opt: EngineOptOpt = None,
    output_dir: OutDirOpt = None,
    two_stage: Annotated[
        bool,
        typer.Option(
            "--two-stage",
            help="Stop after the experiment setup; finish later with REAL results via 'research complete'.",
        ),
    ] = False,
    max_tokens: Annotated[
        Optional[int],
        typer.Option(
            help="Max new tokens (default: 19,000 as upstream, capped by the context; 1,024 on the embedded model)."
        ),
    ] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (upstream 0.4).")] = 0.4,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling (upstream 0.95).")] = 0.95,
    seed: Annotated[Optional[int], typer.Option(help="Random seed (engines that support it).")] = None,
    drop_to_fit: Annotated[
        bool,
        typer.Option(
            "--drop-to-fit",
            help="Drop the least relevant references when the prompt does not fit the context.",
        ),
    ] = False,
    pdf: Annotated[
        bool,
        typer.Option(
            "--pdf/--no-pdf", help="Compile each paper's LaTeX project to PDF with latexmk (when installed)."
        ),
    ] = True,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the run in -o DIR: finished requests are not redone, failed ones are retried. Required when -o already holds a run.",
        ),
    ] = False,
    constrain: ConstrainOpt = None,
    novelty_check: Annotated[
        bool,
        typer.Option(
            "--novelty",
            help="Check each paper offline for close prior work among its references (docs/novelty.md); shown in paper.json / paper.md.",
        ),
    ] = False,
    enrich: Annotated[
        bool,
        typer.Option(
            "--enrich",
            help="Fill missing abstracts from Semantic Scholar, OpenAlex, arXiv and Crossref first "
            "(sends DOIs, arXiv ids and titles; see 'references enrich').",
        ),
    ] = False,
) -> None:
    """Generate paper drafts (motivation, idea, LaTeX, experiment plan) from reference sets.

    Example: cycleresearcher research generate examples/references.bib -n 2 -o runs/demo

    Without --model and without a GPU the tiny embedded SmolLM2 model runs on the CPU (a stand-in
    that shows the pipeline); use --model 12B (or 72B / 123B) on a GPU, or --base-url for a server.
    Results are simulated by the model unless --two-stage is given; every export says so.
    """
    from ..research import CycleResearcher, ResearchSettings

    with new_run_dir(output_dir, "research") as directory:  # removed again if the start fails
        check_resume(directory, resume)
        settings = ResearchSettings(
            n=samples,
            topic=topic,
            mode="two-stage" if two_stage else "simulate",
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            seed=seed,
            drop_to_fit=drop_to_fit,
            constrain=constrain,
        )
        researcher = CycleResearcher(
            model=model,
            engine=engine,
            base_url=base_url,
            run_dir=directory,
            **engine_options(engine_opt, api_key, model=model, engine=engine, base_url=base_url),
        )
        store = researcher.store
        assert store is not None
        store.set_meta("command", "research generate")
        store.set_meta("settings", settings.__dict__)
        start = time.perf_counter()
        try:
            if enrich:
                from .references_enrich import enrich_for_run

                prepared = researcher.prepare(enrich_for_run(refs, directory), settings)
            else:
                prepared = researcher.prepare(refs, settings)
            for ps in prepared:
                for w in ps.warnings:
                    console.print(f"[yellow]warning[/] {ps.source}: {w}")
            total = len(prepared) * samples
            check = AfterGenerate(directory, store) if novelty_check else None
            written: list[dict] = []
            failures: list[str] = []
            with reporting(for_stderr(console, f"generating {total} paper(s)")):

                def on_paper(paper) -> None:
                    error = (paper.meta or {}).get("error")
                    if error:  # nothing to export: no paper.json / .md / .tex / PDF saying "failed"
                        failures.append(f"{paper.id}: {error}")
                    else:
                        written.append(_export(paper, directory, pdf=pdf and not two_stage))
                        written[-1]["paper_warnings"] = list(paper.warnings)
                        if check is not None:
                            check(paper)

                researcher.generate(prepared, settings, on_paper=on_paper)
        finally:
            researcher.close()
        _summary(directory, written, failures, time.perf_counter() - start, two_stage, pdf and not two_stage)


@guard
def complete(
    run: Annotated[
        Path,
        typer.Argument(
            help="Run directory written by 'research generate --two-stage'.", exists=True, file_okay=False
        ),
    ],
    results: Annotated[
        Path,
        typer.Option(
            "--results",
            help="Your REAL experiment results: a JSON list of {name, result: {table, description}}.",
            exists=True,
            dir_okay=False,
        ),
    ],
    paper_id: Annotated[
        Optional[str],
        typer.Option("--paper", help="Paper id to complete (default: every paper awaiting results)."),
    ] = None,
    model: ModelOpt = None,
    engine: EngineOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    engine_opt: EngineOptOpt = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="Max new tokens for the results section.")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Compile the LaTeX project to PDF.")] = True,
    redo: Annotated[
        bool,
        typer.Option(
            "--redo",
            help="Replace the results of papers already complete (simulated or completed before); "
            "the earlier version is kept as paper.vN.json.",
        ),
    ] = False,
    constrain: ConstrainOpt = None,
) -> None:
    """Finish two-stage papers with REAL experiment results (turn 5 as a multi-turn chat).

    Example: cycleresearcher research complete runs/demo --results my_results.json

    With --redo, papers that are already complete get their results section rewritten from the new
    results (add --paper ID to pick one); the earlier record stays as paper.v1.json, paper.v2.json, ...
    """
    from ..errors import EngineError, InputError
    from ..paper.results import load_results
    from ..research import CycleResearcher, ResearchSettings

    try:
        text = results.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{results} is not UTF-8 text ({exc}). Give a JSON list of {{name, result}} objects."
        ) from exc
    data, _ = load_results(text, str(results))  # checked against the documented shape before any model runs
    researcher = CycleResearcher(
        model=model,
        engine=engine,
        base_url=base_url,
        run_dir=run,
        constrain=constrain,
        **engine_options(
            engine_opt,
            api_key,
            model=model,
            engine=engine,
            base_url=base_url,
            # no engine named: the run's own engine is used, checked when it loads
            check=bool(model or engine or base_url),
        ),
    )
    try:
        store = researcher.store
        assert store is not None
        if model is None and engine is None and base_url is None:
            # default to the engine the run was generated with
            desc = next((p.meta.get("engine", {}) for p in researcher.stored_papers() if p.meta), {})
            if desc.get("model"):
                researcher.model = desc["model"]
        papers = researcher.stored_papers()
        if paper_id:
            papers = [p for p in papers if p.id == paper_id]
        awaiting = [p for p in papers if (p.meta or {}).get("stage") == "awaiting_results"]
        todo = papers if redo else awaiting
        if not todo:
            which = f" with id {paper_id}" if paper_id else ""
            hint = (
                " Its paper(s) are complete: add --redo to replace their results (the earlier version is kept)."
                if papers
                else " Generate with --two-stage first."
            )
            raise InputError(f"No paper awaiting results in {run}{which}.{hint}")
        start = time.perf_counter()
        written = []
        failures: list[str] = []
        with reporting(for_stderr(console, f"writing {len(todo)} results section(s)")):
            for paper in todo:
                try:
                    done = researcher.complete(paper, data, ResearchSettings(max_tokens=max_tokens))
                except EngineError as exc:  # this paper stays awaiting results; the others go on
                    failures.append(str(exc))
                else:
                    written.append(_export(done, run, pdf=pdf))
    finally:
        researcher.close()
    _summary(run, written, failures, time.perf_counter() - start, False, pdf, "rerun the same command")


def _export(paper, directory: Path, pdf: bool) -> dict:
    from ..paper.export import export_paper

    return export_paper(paper, directory, pdf=pdf)


def _pdf_cell(info: dict, asked: bool) -> str:
    if info["pdf"]:
        return "yes"
    if not asked:
        return "not asked"
    return f"no: {info.get('pdf_error') or 'no PDF'}"


def _summary(
    directory: Path,
    written: list[dict],
    failures: list[str],
    elapsed: float,
    two_stage: bool,
    pdf: bool,
    retry: str | None = None,
) -> None:
    """The closing table and lines; exits 3 when a request failed or no paper came out."""
    from rich.markup import escape
    from rich.table import Table

    from ..store import RunStore

    table = Table(title=f"Papers in {directory}")
    for col in ("id", "title", "warnings", "pdf"):
        table.add_column(col)
    for info in written:
        table.add_row(
            info["id"],
            escape(info["title"] or "")[:60] or "[i]no title parsed[/]",
            str(info["warnings"]),
            escape(_pdf_cell(info, pdf)),
        )
    if written:
        out.print(table)
    with RunStore(directory) as store:
        stats = store.summary()
    tokens = sum(s["completion_tokens"] for s in stats.values())
    prompt = sum(s["prompt_tokens"] for s in stats.values())
    engine_s = sum(s["elapsed_s"] for s in stats.values())
    console.print(
        f"{len(written)} paper(s) in {elapsed:.1f} s; {prompt} prompt + {tokens} generated tokens "
        f"({tokens / engine_s if engine_s else 0:.1f} tok/s in the engine); {len(failures)} failed request(s)."
    )
    # engine limitations (e.g. a server that ignored ignore_eos): once, not once per paper
    notes = {w: None for info in written for w in info.get("paper_warnings", []) if w.startswith("engine:")}
    for note in notes:
        console.print(f"[yellow]warning[/] {escape(note)}", soft_wrap=True)
    if failures:
        first = failures[0].splitlines()[0] if failures[0] else ""
        console.print(
            f"[bold red]{len(failures)} sample(s) failed[/] (nothing exported for them); first error: "
            f"{escape(first)}. Fix the cause, then {retry or f'rerun with --resume -o {directory}'} to retry only those.",
            soft_wrap=True,
        )
    if not written or failures:
        raise typer.Exit(EXIT_FAILED)
    simulated = sum(1 for info in written if info.get("results_simulated", True))
    ungrounded = sum(info.get("ungrounded") or 0 for info in written)
    if two_stage:
        console.print(
            f"Next: run your experiments, then: cycleresearcher research complete {directory} --results results.json"
        )
    elif simulated:
        console.print(
            f"[bold]Results in {simulated} of these {len(written)} draft(s) are SIMULATED by the model, not measured.[/] "
            "Use --two-stage to supply real results."
        )
    else:
        console.print("Results in these papers are the REAL results you supplied.")
    if ungrounded:
        console.print(
            f"[yellow]{ungrounded} number(s) in the results text match none of the results[/]: "
            "'ungrounded_numbers' in paper.json, listed in paper.md."
        )
