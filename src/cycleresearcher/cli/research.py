"""CLI: ``cycleresearcher research generate|complete`` (the use cases ``app.generate`` and
``app.complete``; this module maps the options onto their requests and renders their results)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..app.session import ModelChoice
from ..models.embedded import EMBEDDED
from ..prompts.research import UPSTREAM_SAMPLING
from ._aliases import OUT_ALIASES, aliased
from ._common import (
    ApiKeyOpt,
    BaseUrlOpt,
    EngineOpt,
    EngineOptOpt,
    ModelOpt,
    OutDirOpt,
    engine_options,
    guard,
)
from ._group import group
from ._research_run import report_for, show_complete, show_generate
from .novelty import novelty

#: upstream's max new tokens (the help states the code's defaults, not copies of them)
UPSTREAM_NEW = int(UPSTREAM_SAMPLING["max_tokens"])

ConstrainOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--constrain/--no-constrain",
        help="Force the output structure with a grammar (headers, scores, blocks). Default: on for the embedded model and any model with no trained format, off for the released CycleResearcher models (they follow their format already).",
    ),
]
RefsArg = Annotated[
    list[Path],
    typer.Argument(
        help="Reference sets, one paper set per file: .bib (abstract fields), training-layout text ('Abstract:' lines), "
        ".bbl or paper-record JSON. A file of @string definitions alone (IEEEabrv.bib) is no set: it serves the files after it.",
        exists=True,
        dir_okay=False,
    ),
]
SamplesOpt = Annotated[int, typer.Option("--samples", "-n", min=1, help="Papers to sample per reference set.")]
TopicOpt = Annotated[
    Optional[str], typer.Option(help="Optional topic line ('Generate a research paper on the topic: ...').")
]
TwoStageOpt = Annotated[
    bool,
    typer.Option(
        "--two-stage", help="Stop after the experiment setup; finish later with REAL results via 'research complete'."
    ),
]
MaxTokensOpt = Annotated[
    Optional[int],
    typer.Option(
        min=1,
        help=f"Max new tokens (default: {UPSTREAM_NEW:,} as upstream, at most half the context; on the embedded "
        f"model {EMBEDDED.paper_constrained_max_tokens:,} with its grammar on, the default, "
        f"{EMBEDDED.paper_max_tokens:,} with --no-constrain). A value given must leave room for the prompt.",
    ),
]
TemperatureOpt = Annotated[float, typer.Option(min=0.0, help="Sampling temperature (upstream 0.4).")]
TopPOpt = Annotated[float, typer.Option(min=0.0, max=1.0, help="Nucleus sampling, above 0 (upstream 0.95).")]
SeedOpt = Annotated[Optional[int], typer.Option(help="Random seed (engines that support it).")]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Refuse a reference file with an entry that cannot be read (by default, as BibTeX, it is skipped with a warning naming its line).",
    ),
]
DropOpt = Annotated[
    bool,
    typer.Option("--drop-to-fit", help="Drop the least relevant references when the prompt does not fit the context."),
]
PdfOpt = Annotated[
    bool,
    typer.Option(
        "--pdf/--no-pdf", help="Compile each paper's LaTeX project to PDF with pdflatex and BibTeX (when installed)."
    ),
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue the run in -o DIR: finished requests are not redone, failed ones are retried. Required when -o already holds a run.",
    ),
]
RedoOpt = Annotated[
    bool,
    typer.Option(
        "--redo",
        help="With --resume: generate again even where the run's papers are further on (completed with "
        "real results) or its settings differ; the earlier version of each paper is kept as paper.vN.json.",
    ),
]
NoveltyOpt = Annotated[
    bool,
    typer.Option(
        "--novelty",
        help="Check each paper offline for close prior work among its references (docs/novelty.md); shown in paper.json / paper.md.",
    ),
]
EnrichOpt = Annotated[
    bool,
    typer.Option(
        "--enrich",
        help="Fill missing abstracts from Semantic Scholar, OpenAlex, arXiv and Crossref first "
        "(sends DOIs, arXiv ids and titles; see 'references enrich').",
    ),
]
RunArg = Annotated[
    Path,
    typer.Argument(help="Run directory written by 'research generate --two-stage'.", exists=True, file_okay=False),
]
ResultsOpt = Annotated[
    Path,
    typer.Option(
        "--results",
        help="Your REAL experiment results: a JSON list of {name, result: {table, description}}.",
        exists=True,
        dir_okay=False,
    ),
]
PaperOpt = Annotated[
    Optional[str], typer.Option("--paper", help="Paper id to complete (default: every paper awaiting results).")
]
ResultsTokensOpt = Annotated[Optional[int], typer.Option(min=1, help="Max new tokens for the results section.")]
CompletePdfOpt = Annotated[bool, typer.Option("--pdf/--no-pdf", help="Compile the LaTeX project to PDF.")]
CompleteRedoOpt = Annotated[
    bool,
    typer.Option(
        "--redo",
        help="Replace the results of papers already complete (simulated or completed before); "
        "the earlier version is kept as paper.vN.json.",
    ),
]


def register(app: typer.Typer) -> None:
    research = group("research", "Generate research papers from references with CycleResearcher.")
    research.command("generate", cls=aliased(n="--samples", **OUT_ALIASES))(generate)
    research.command("complete")(complete)
    research.command("novelty")(novelty)
    app.add_typer(research, name="research")


def model_choice(
    model: str | None,
    engine: str | None,
    base_url: str | None,
    api_key: str | None,
    engine_opt: list[str] | None,
    *,
    max_tokens: int | None = None,
    constrain: bool | None = None,
    check: bool = True,
) -> ModelChoice:
    """The options' model choice; --engine-opt is checked now against the engine chosen (when
    ``check``), so a typo fails before the run folder is made."""
    opts = engine_options(engine_opt, None, model=model, engine=engine, base_url=base_url, check=check)
    return ModelChoice(model, engine, base_url, api_key, opts, max_tokens, constrain)


@guard
def generate(
    refs: RefsArg,
    samples: SamplesOpt = 1,
    topic: TopicOpt = None,
    model: ModelOpt = None,
    engine: EngineOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    engine_opt: EngineOptOpt = None,
    output_dir: OutDirOpt = None,
    two_stage: TwoStageOpt = False,
    max_tokens: MaxTokensOpt = None,
    temperature: TemperatureOpt = 0.4,
    top_p: TopPOpt = 0.95,
    seed: SeedOpt = None,
    strict: StrictOpt = False,
    drop_to_fit: DropOpt = False,
    pdf: PdfOpt = True,
    resume: ResumeOpt = False,
    constrain: ConstrainOpt = None,
    redo: RedoOpt = False,
    novelty_check: NoveltyOpt = False,
    enrich: EnrichOpt = False,
) -> None:
    """Generate paper drafts (motivation, idea, LaTeX, experiment plan) from reference sets.

    Example: cycleresearcher research generate examples/references.bib -n 2 -o runs/demo

    Without --model and without a GPU the tiny embedded SmolLM2 model runs on the CPU (a stand-in
    that shows the pipeline); use --model 12B (or 72B / 123B) on a GPU, or --base-url for a server.
    Results are simulated by the model unless --two-stage is given; every export says so.
    """
    from ..app.generate import GenerateRequest
    from ..app.generate import generate as run
    from ..app.session import Sessions
    from ..research import ResearchSettings

    mode = "two-stage" if two_stage else "simulate"
    settings = ResearchSettings(
        n=samples, topic=topic, mode=mode, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
        seed=seed, drop_to_fit=drop_to_fit, constrain=constrain,
    )  # fmt: skip
    request = GenerateRequest(
        refs=list(refs), settings=settings, choice=model_choice(model, engine, base_url, api_key, engine_opt),
        run_dir=Path(output_dir) if output_dir else None, pdf=pdf, resume=resume, redo=redo, strict=strict,
        enrich=enrich, novelty=novelty_check,
    )  # fmt: skip
    with Sessions() as sessions:
        result = run(request, sessions, report_for(enrich))
    show_generate(result)


@guard
def complete(
    run: RunArg,
    results: ResultsOpt,
    paper_id: PaperOpt = None,
    model: ModelOpt = None,
    engine: EngineOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    engine_opt: EngineOptOpt = None,
    max_tokens: ResultsTokensOpt = None,
    pdf: CompletePdfOpt = True,
    redo: CompleteRedoOpt = False,
    constrain: ConstrainOpt = None,
) -> None:
    """Finish two-stage papers with REAL experiment results (turn 5 as a multi-turn chat).

    Example: cycleresearcher research complete runs/demo --results my_results.json

    With --redo, papers that are already complete get their results section rewritten from the new
    results (add --paper ID to pick one); the earlier record stays as paper.v1.json, paper.v2.json, ...
    With no --model, --engine or --base-url, the run's own model, engine and server are used.
    """
    from ..app.complete import CompleteRequest
    from ..app.complete import complete as run_complete
    from ..app.session import Sessions

    # no engine named: the run's own is used, its options checked when it loads
    choice = model_choice(
        model, engine, base_url, api_key, engine_opt, max_tokens=max_tokens, constrain=constrain,
        check=bool(model or engine or base_url),
    )  # fmt: skip
    request = CompleteRequest(run, results, paper_id, choice, pdf=pdf, redo=redo)
    with Sessions() as sessions:
        result = run_complete(request, sessions, report_for(False))
    show_complete(result)
