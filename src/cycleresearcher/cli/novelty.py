"""CLI: ``cycleresearcher research novelty`` (the novelty check; docs/novelty.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ._common import ApiKeyOpt, console, engine_options, guard, out

CorpusOpt = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--corpus",
        help="Works to search besides each paper's own references, repeatable: a .bib/.bbl (with abstracts), "
        "paper-record JSON, or a folder of them, PDFs and LaTeX projects.",
    ),
]
OnlineOpt = Annotated[
    bool,
    typer.Option(
        "--online",
        help="Also search the scholarly services (the clients, keys, pacing and cache of `references enrich`). Off by default: nothing leaves the machine.",
    ),
]


@guard
def novelty(
    papers: Annotated[
        Optional[list[Path]],
        typer.Argument(
            help="Run directories (each paper of the run), paper.json / paper-record JSON, or paper files (.pdf, .tex, .md, .txt)."
        ),
    ] = None,
    idea: Annotated[
        Optional[list[str]],
        typer.Option("--idea", help="A bare idea as text (repeatable), checked like a paper."),
    ] = None,
    corpus: CorpusOpt = None,
    online: OnlineOpt = False,
    cache: Annotated[
        bool,
        typer.Option(
            "--cache/--no-cache",
            help="Also search the works that `references enrich` (or an earlier --online check) cached; offline.",
        ),
    ] = True,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=50, help="Works shown in the matrix.")] = 5,
    threshold: Annotated[
        Optional[float],
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="Similarity at which a work counts as close prior work (default: the calibrated one, docs/novelty.md).",
        ),
    ] = None,
    embeddings: Annotated[
        bool,
        typer.Option(
            "--embeddings/--lexical",
            help="Rank by meaning with the embedded MiniLM as well as by words (BM25); --lexical: words only (TF-IDF similarity, its own threshold).",
        ),
    ] = True,
    judge_model: Annotated[
        Optional[str],
        typer.Option(
            "--judge-model",
            help="Also ask a model judge (same values as --model); shown beside the evidence.",
        ),
    ] = None,
    judge_engine: Annotated[
        Optional[str], typer.Option("--judge-engine", help="The judge's engine (as --engine).")
    ] = None,
    judge_base_url: Annotated[
        Optional[str],
        typer.Option("--judge-base-url", help="The judge's OpenAI-compatible server (as --base-url)."),
    ] = None,
    api_key: ApiKeyOpt = None,
    judge_opt: Annotated[
        Optional[list[str]],
        typer.Option("--judge-opt", help="The judge engine's settings KEY=VALUE (as --engine-opt)."),
    ] = None,
    output_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            "-o",
            help="Also write novelty.json / novelty.md per paper here (runs get them in papers/<id>/ anyway).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON on stdout.")] = False,
) -> None:
    """Look for close prior work to each paper's idea (or a bare --idea) among its references, your corpus and, with --online, the scholarly services.

    Example: cycleresearcher research novelty runs/demo --corpus my_library.bib

    The verdict is either "close prior work: X (similarity s, at or above the calibrated threshold t)" or
    "no close prior work among N works searched (sources ...)": never that an idea is new in general.
    A run's papers get novelty.json / novelty.md in papers/<id>/, and their paper.json / paper.md carry it.
    """
    from ..errors import InputError
    from ..novelty import CheckSettings, NoveltyChecker
    from ..novelty.files import save_to_run, slug, write_report
    from ..novelty.subjects import iter_subjects, subject_from_idea

    if not papers and not idea:
        raise InputError("Nothing to check: give a run directory, a paper file, or --idea TEXT.")
    judge = None
    if judge_model or judge_engine or judge_base_url:
        from ..engines import create_engine

        opts = engine_options(
            judge_opt, api_key, model=judge_model, engine=judge_engine, base_url=judge_base_url
        )
        judge = create_engine(judge_model, judge_engine, judge_base_url, **opts)
    clients: list[Any] = []
    if online:
        from ..novelty.online import scholarly_clients

        clients = scholarly_clients()
    settings = CheckSettings(
        top_k=top_k, threshold=threshold, embeddings=embeddings, corpus=list(corpus or []), cache=cache,
        clients=clients, judge=judge,
    )  # fmt: skip
    checker = NoveltyChecker(settings)
    subjects = [(subject_from_idea(text, f"idea {i}"), None) for i, text in enumerate(idea or [], 1)]
    reports = []
    try:
        for subject, run in [*subjects, *iter_subjects(list(papers or []))]:
            report = checker.check(subject)
            reports.append(report)
            if run is not None:
                save_to_run(run, report)
            if output_dir is not None:
                write_report(report, output_dir / slug(report.subject.paper_id or report.subject.label))
            if not as_json:
                show(report)
    finally:
        for client in clients:
            client.close()
        if judge is not None:
            judge.close()
    if as_json:
        out.print_json(json.dumps([r.to_dict() for r in reports], ensure_ascii=False))


def show(report: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ._tables import print_table

    subject = report.subject
    table = Table(title=escape(f"{subject.label}: {subject.title or subject.idea[:60]}"))
    for col in ("#", "work", "year", "source", "similarity", "what overlaps"):
        table.add_column(col)
    for m in report.matches:
        over = " / ".join(f"“{o.work_sentence[:120]}” ({o.similarity:.2f})" for o in m.overlaps[:1])
        table.add_row(
            str(m.rank),
            escape(m.work.title[:80]),
            m.work.year,
            m.work.source,
            f"{m.similarity:.2f}",
            escape(over),
        )
    if report.matches:
        print_table(out, table)
    out.print(f"[bold]{escape(report.verdict)}[/]", soft_wrap=True)
    if report.judge is not None:
        j = report.judge
        out.print(
            f"model judge ({escape(j.model)}), beside the evidence: {j.decision}. {escape(j.reason)}",
            soft_wrap=True,
        )
    for w in report.warnings:
        console.print(f"[yellow]warning[/] {escape(w)}", soft_wrap=True)


__all__ = ["novelty", "show"]
