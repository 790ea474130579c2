"""CLI: ``cycleresearcher research generate|complete``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..app.runfolder import (
    check_resume,
    check_same_settings,
    files_current,
    new_run_dir,
    run_engine,
    run_lock,
)
from ..paper.record import Stage
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
    about,
    console,
    cut,
    engine_options,
    guard,
    out,
)
from ._group import group
from ._research_run import done_with, say_budget
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
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Refuse a reference file with an entry that cannot be read (by default, as BibTeX, it is skipped with a warning naming its line).",
        ),
    ] = False,
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
            "--pdf/--no-pdf",
            help="Compile each paper's LaTeX project to PDF with pdflatex and BibTeX (when installed).",
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
    redo: Annotated[
        bool,
        typer.Option(
            "--redo",
            help="With --resume: generate again even where the run's papers are further on (completed with "
            "real results) or its settings differ; the earlier version of each paper is kept as paper.vN.json.",
        ),
    ] = False,
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
    from ..research import ResearchSettings

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
    engine_args = {"model": model, "engine": engine, "base_url": base_url}
    with new_run_dir(output_dir, "research") as directory:  # removed again if the start fails
        check_resume(directory, resume)
        with run_lock(directory, "research generate"):  # one process per run folder
            _generate(
                refs,
                settings,
                directory,
                engine_args,
                engine_opt,
                api_key,
                pdf=pdf,
                redo=redo,
                strict=strict,
                enrich=enrich,
                novelty_check=novelty_check,
            )


def _generate(
    refs: list[Path],
    settings,
    directory: Path,
    engine_args: dict,
    engine_opt: list[str] | None,
    api_key: str | None,
    *,
    pdf: bool,
    redo: bool,
    strict: bool = False,
    enrich: bool = False,
    novelty_check: bool = False,
) -> None:
    from ..references import load_references
    from ..research import CycleResearcher
    from ..store import RunStore

    two_stage = settings.mode == "two-stage"
    samples = settings.n
    if not redo and (directory / "run.sqlite").exists():  # before any engine loads
        with RunStore(directory) as earlier:
            check_same_settings(directory, earlier.get_meta("settings"), settings.__dict__)
    # read (and, with --strict, refuse) the references and say the budget before any model loads
    sets = [load_references(path, strict=strict) for path in refs]
    if enrich:  # only when asked: it sends DOIs, arXiv ids and titles to the scholarly services
        from .references_enrich import enrich_for_run

        sets = enrich_for_run(sets, directory)
    say_budget(sets, engine_args["model"], settings.max_tokens, settings.drop_to_fit)
    researcher = CycleResearcher(
        **engine_args, run_dir=directory, **engine_options(engine_opt, api_key, **engine_args)
    )
    store = researcher.store
    assert store is not None
    store.set_meta("command", "research generate")
    store.set_meta("settings", settings.__dict__)
    start = time.perf_counter()
    kept: list[str] = []
    try:
        prepared = researcher.prepare(sets, settings)
        for ps in prepared:
            for w in ps.warnings:
                console.print(f"[yellow]warning[/] {about(ps.source, w)}")
        total = len(prepared) * samples
        check = AfterGenerate(directory, store) if novelty_check else None
        written: list[dict] = []
        failures: list[str] = []
        with reporting(for_stderr(console, f"generating {total} paper(s)")):

            def on_paper(paper) -> None:
                error = (paper.meta or {}).get("error")
                if error:  # nothing to export: no paper.json / .md / .tex / PDF saying "failed"
                    failures.append(f"{paper.id}: {error}")
                elif paper.id in researcher.kept:  # the store and its files stay as they were
                    kept.append(f"{paper.id} ({researcher.kept[paper.id]})")
                else:
                    written.append(_export(paper, directory, pdf=pdf and not two_stage))
                    written[-1]["paper_warnings"] = list(paper.warnings)
                    if check is not None:
                        check(paper)

            researcher.generate(prepared, settings, on_paper=on_paper, redo=redo)
    finally:
        researcher.close()
    if kept:
        console.print(
            f"Kept {len(kept)} paper(s) as they were, further on than this command would take them: "
            f"{', '.join(kept)}. Add --redo to generate them again (the earlier version is kept as paper.vN.json).",
            soft_wrap=True,
        )
    _summary(directory, written, failures, time.perf_counter() - start, two_stage, pdf and not two_stage,
             kept=len(kept))  # fmt: skip


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
    from ..errors import InputError
    from ..paper.results import load_results

    try:
        text = results.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{results} is not UTF-8 text ({exc}). Give a JSON list of {{name, result}} objects."
        ) from exc
    data, _ = load_results(text, str(results))  # checked against the documented shape before any model runs
    if model is None and engine is None and base_url is None:
        # the engine, server and model the run was generated with (the printed "Next:" command
        # names none of them: it once went to the hub instead of the run's server)
        model, engine, base_url = run_engine(run)
    from ..research import CycleResearcher

    with run_lock(run, "research complete"):  # one process per run folder
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
        _complete(researcher, run, data, paper_id, max_tokens=max_tokens, pdf=pdf, redo=redo)


def _complete(
    researcher, run: Path, data, paper_id: str | None, *, max_tokens, pdf: bool, redo: bool
) -> None:
    from ..errors import EngineError, InputError
    from ..research import ResearchSettings

    try:
        store = researcher.store
        assert store is not None
        papers = researcher.stored_papers()
        if paper_id:
            papers = [p for p in papers if p.id == paper_id]
        awaiting = [p for p in papers if p.stage is Stage.AWAITING_RESULTS]
        todo = papers if redo else awaiting
        # completed with these very results before, its files not all written (a kill during the
        # export): written again from the store, with no model call
        stale = [] if redo else [p for p in papers if done_with(p, data) and not files_current(p, run, pdf)]
        if not todo and not stale:
            which = f" with id {paper_id}" if paper_id else ""
            hint = (
                " Its paper(s) are complete and their files up to date: add --redo to replace their results "
                "(the earlier version is kept)."
                if papers
                else " Generate with --two-stage first."
            )
            raise InputError(f"No paper awaiting results in {run}{which}.{hint}")
        start = time.perf_counter()
        written = [_export(p, run, pdf=pdf) for p in stale]
        if stale:
            console.print(
                f"{len(stale)} paper(s) were already complete with these results; their files were written "
                "again from the run store (no model call)."
            )
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
    _summary(
        run,
        written,
        failures,
        time.perf_counter() - start,
        False,
        pdf,
        "rerun the same command",
        stage="complete",
    )


def _export(paper, directory: Path, pdf: bool) -> dict:
    from ..paper.export import export_paper

    return export_paper(paper, directory, pdf=pdf)


def _pdf_cell(info: dict, asked: bool) -> str:
    if info["pdf"]:
        return info.get("pdf_status") or "yes"  # "yes", or "PDF with problems: <the first>"
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
    kept: int = 0,
    stage: str | None = None,
) -> None:
    """The closing table and lines; exits 3 when a request failed or no paper came out (papers
    kept as they were count as come out)."""
    from rich.markup import escape
    from rich.table import Table

    from ..store import RunStore

    table = Table(title=f"Papers in {directory}")
    for col in ("id", "title", "warnings", "pdf"):
        table.add_column(col)
    for info in written:
        table.add_row(
            info["id"],
            escape(cut(info["title"] or "")) or "[i]no title parsed[/]",
            str(info["warnings"]),
            escape(_pdf_cell(info, pdf)),
        )
    if written:
        out.print(table)
    with RunStore(directory) as store:
        stats = store.summary()
    if stage is not None:  # this command's requests only, not the earlier stage's
        stats = {k: v for k, v in stats.items() if k == stage}
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
    if (not written and not kept) or failures:
        raise typer.Exit(EXIT_FAILED)
    if not written:
        return
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
