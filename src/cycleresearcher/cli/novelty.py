"""CLI: ``cycleresearcher research novelty`` (the novelty check; docs/novelty.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..app.novelty import TOP_K
from ._common import ApiKeyOpt, engine_options, guard, out

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


PapersArg = Annotated[
    Optional[list[Path]],
    typer.Argument(
        help="Run directories (each paper of the run), paper.json / paper-record JSON, or paper files (.pdf, .tex, .md, .txt)."
    ),
]
IdeaOpt = Annotated[
    Optional[list[str]], typer.Option("--idea", help="A bare idea as text (repeatable), checked like a paper.")
]
CacheOpt = Annotated[
    bool,
    typer.Option(
        "--cache/--no-cache",
        help="Also search the works that `references enrich` (or an earlier --online check) cached; offline.",
    ),
]
TopKOpt = Annotated[int, typer.Option("--top-k", min=1, max=50, help="Works shown in the matrix.")]
ThresholdOpt = Annotated[
    Optional[float],
    typer.Option(
        "--threshold",
        min=0.0,
        max=1.0,
        help="Similarity at which a work counts as close prior work (default: the calibrated one, docs/novelty.md).",
    ),
]
EmbeddingsOpt = Annotated[
    bool,
    typer.Option(
        "--embeddings/--lexical",
        help="Rank by meaning with the embedded MiniLM as well as by words (BM25); --lexical: words only (TF-IDF similarity, its own threshold).",
    ),
]
JudgeModelOpt = Annotated[
    Optional[str],
    typer.Option(
        "--judge-model", help="Also ask a model judge (same values as --model); shown beside the evidence."
    ),
]
JudgeEngineOpt = Annotated[Optional[str], typer.Option("--judge-engine", help="The judge's engine (as --engine).")]
JudgeBaseUrlOpt = Annotated[
    Optional[str], typer.Option("--judge-base-url", help="The judge's OpenAI-compatible server (as --base-url).")
]
JudgeOptOpt = Annotated[
    Optional[list[str]], typer.Option("--judge-opt", help="The judge engine's settings KEY=VALUE (as --engine-opt).")
]
NoveltyOut = Annotated[
    Optional[Path],
    typer.Option(
        "--out",
        "-o",
        help="Also write novelty.json / novelty.md per paper here (runs get them in papers/<id>/ anyway).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the reports as JSON on stdout.")]


@guard
def novelty(
    papers: PapersArg = None,
    idea: IdeaOpt = None,
    corpus: CorpusOpt = None,
    online: OnlineOpt = False,
    cache: CacheOpt = True,
    top_k: TopKOpt = TOP_K,
    threshold: ThresholdOpt = None,
    embeddings: EmbeddingsOpt = True,
    judge_model: JudgeModelOpt = None,
    judge_engine: JudgeEngineOpt = None,
    judge_base_url: JudgeBaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    judge_opt: JudgeOptOpt = None,
    output_dir: NoveltyOut = None,
    as_json: JsonOpt = False,
) -> None:
    """Look for close prior work to each paper's idea (or a bare --idea) among its references, your corpus and, with --online, the scholarly services.

    Example: cycleresearcher research novelty runs/demo --corpus my_library.bib

    The verdict is either "close prior work: X (similarity s, at or above the calibrated threshold t)" or
    "no close prior work among N works searched (sources ...)": never that an idea is new in general.
    A run's papers get novelty.json / novelty.md in papers/<id>/, and their paper.json / paper.md carry it.
    """
    from ..app.novelty import NoveltyRequest, check_novelty
    from ..app.session import ModelChoice, Sessions
    from ._report import ConsoleReport

    judge = None
    if judge_model or judge_engine or judge_base_url:
        opts = engine_options(judge_opt, model=judge_model, engine=judge_engine, base_url=judge_base_url)
        judge = ModelChoice(judge_model, judge_engine, judge_base_url, api_key=api_key, options=opts)
    request = NoveltyRequest(
        papers=list(papers or []), ideas=list(idea or []), corpus=list(corpus or []), online=online,
        cache=cache, top_k=top_k, threshold=threshold, embeddings=embeddings, out=output_dir,
    )  # fmt: skip
    with Sessions() as sessions:
        result = check_novelty(request, ConsoleReport(), judge, sessions, each=None if as_json else show)
    if as_json:
        out.print_json(json.dumps([r.to_dict() for r in result.reports], ensure_ascii=False))


def show(report: Any) -> None:
    """One check as the terminal shows it: the matrix, the verdict, the judge's answer."""
    from rich.markup import escape

    from ..app.novelty import matrix_table
    from ._tables import print_table

    if report.matches:
        print_table(out, matrix_table(report).to_rich())
    out.print(f"[bold]{escape(report.verdict)}[/]", soft_wrap=True)
    if report.judge is not None:
        j = report.judge
        out.print(
            f"model judge ({escape(j.model)}), beside the evidence: {j.decision}. {escape(j.reason)}",
            soft_wrap=True,
        )


__all__ = ["novelty", "show"]
