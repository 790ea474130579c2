"""CLI: ``cycleresearcher review``: review papers and parse reviewer output.

``cycleresearcher review FILES`` is ``cycleresearcher review run FILES`` (the default command).
"""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InputError
from ._aliases import OUT_ALIASES, aliased
from ._common import (
    EXIT_FAILED,
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

review_app = group(
    "review",
    help=(
        "Review papers with CycleReviewer or DeepReviewer, or parse a reviewer's raw output.\n\n"
        "Example: cycleresearcher review parse deepreviewer_output.txt"
    ),
    default="run",
)

ConstrainOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--constrain/--no-constrain",
        help="Force the output structure with a grammar (headers, scores, blocks). Default: on for the embedded model and any model with no trained format, off for the released CycleReviewer / DeepReviewer models (they follow their format already).",
    ),
]


class ReviewFormat(str, enum.Enum):
    auto = "auto"
    cyclereviewer = "cyclereviewer"
    deepreviewer = "deepreviewer"


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")


@review_app.command("parse", cls=aliased(format="--reviewer"))
@guard
def parse(
    file: Annotated[str, typer.Argument(help="Raw reviewer output (text file), or '-' for stdin.")],
    reviewer: Annotated[
        ReviewFormat,
        typer.Option(
            "--reviewer",
            "-r",
            help="Reviewer that wrote the output (its format); 'auto' detects it (\\boxed_ blocks = DeepReviewer).",
        ),
    ] = ReviewFormat.auto,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the readable Markdown review instead of JSON.")
    ] = False,
    raw: Annotated[
        bool, typer.Option("--raw", help="Include the raw text in the JSON ('raw_text').")
    ] = False,
) -> None:
    """Parse raw CycleReviewer / DeepReviewer output and print it as JSON.

    The JSON has decision (Accept / Reject / null), final (rating, soundness, presentation, contribution, confidence), reviewers (scores and text sections per reviewer), avg_rating, min_rating, max_rating and warnings (anything that could not be read). Each warning is also printed on stderr; when nothing usable was read (no reviewer, no score, no decision, no search question) the exit status is 3.

    Example: cycleresearcher review parse out.txt --reviewer deepreviewer
    """
    from rich.markup import escape

    from ..review.parse import parse_review
    from ._common import console

    text = _read(file)
    review = parse_review(text, format=reviewer.value)
    if markdown:
        typer.echo(review.to_markdown(), nl=False)
    else:
        typer.echo(json.dumps(review.to_dict(include_raw=raw), indent=2, ensure_ascii=False))
    for warning in review.warnings:
        console.print(f"[yellow]Warning:[/] {escape(warning)}", soft_wrap=True)
    if not review.usable:
        console.print(f"[bold red]Nothing usable in {escape(file)}:[/] no reviewer, score, decision or search question could be read.", soft_wrap=True)
        raise typer.Exit(EXIT_FAILED)


def _read(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    path = Path(file)
    if path.is_dir():
        raise InputError(f"{file}: is a folder. Pass the text file holding the reviewer's output (or '-' for stdin).")
    if not path.is_file():
        raise InputError(
            f"{file}: no such file. Pass the text file holding the reviewer's output (or '-' for stdin)."
        )
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(
            f"{file}: cannot be read ({exc.strerror}). Check the path and its permissions."
        ) from exc


# -- `review run` (the default command) ---------------------------------------------------------


class ReviewerName(str, enum.Enum):
    cyclereviewer = "cyclereviewer"
    deepreviewer = "deepreviewer"


class ReviewMode(str, enum.Enum):
    fast = "fast"
    standard = "standard"
    best = "best"


FilesArg = Annotated[
    list[str],
    typer.Argument(
        help="Papers: .pdf, .tex, .md, .txt, Paper .json, folders, or run directories of `research generate`."
    ),
]
ReviewerOpt = Annotated[ReviewerName, typer.Option("--reviewer", "-r", help="Reviewer model family.")]
ModeOpt = Annotated[
    ReviewMode,
    typer.Option("--mode", help="DeepReviewer mode (best = search questions + retrieval + second turn)."),
]
ReviewersOpt = Annotated[
    int,
    typer.Option(
        "--reviewers",
        min=1,
        help="DeepReviewer: number of simulated reviewers ({n} in its prompt). CycleReviewer's prompt fixes 4.",
    ),
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue the run in -o DIR with the settings it was run with: finished requests are reused, failed and missing ones run. Other settings are refused (they would review the papers again).",
    ),
]
MaxTokensOpt = Annotated[
    Optional[int],
    typer.Option(
        "--max-tokens",
        min=1,
        help="New tokens per review (default: upstream, 7000 CycleReviewer / 35000 DeepReviewer; 3584 on the embedded stand-in, whose input is cut to 3584 tokens).",
    ),
]
ContextOpt = Annotated[
    Optional[int],
    typer.Option(
        "--context-length",
        min=256,
        help="The model's context window in tokens, for servers that do not report it (default: what the engine knows, else upstream 50000 / 90000).",
    ),
]
RetrieverOpt = Annotated[
    str,
    typer.Option(
        "--retriever",
        help="Best mode retrieval: 'local' (offline, the paper's own references/text), 'none', or an OpenScholar-style URL (POST /batch_ask).",
    ),
]
PromptFormOpt = Annotated[
    str, typer.Option("--prompt-form", help="CycleReviewer system prompt form: flush (default) or indented.")
]
BestVariantOpt = Annotated[
    str,
    typer.Option(
        "--best-variant",
        help="DeepReviewer Best prompt: library (default) or authors (the authors' evaluation text).",
    ),
]
KeepHiddenOpt = Annotated[
    bool,
    typer.Option(
        "--keep-hidden-text",
        help="Let the reviewer read hidden text too (white, tiny or invisible text, zero-width characters, hidden HTML). Default: it is left out; either way every review lists what was found.",
    ),
]


@review_app.command("run", cls=aliased(**OUT_ALIASES))
@guard
def run(
    files: FilesArg,
    reviewer: ReviewerOpt = ReviewerName.cyclereviewer,
    mode: ModeOpt = ReviewMode.standard,
    reviewers: ReviewersOpt = 4,
    model: ModelOpt = None,
    engine: EngineOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    engine_opt: EngineOptOpt = None,
    output_dir: OutDirOpt = None,
    resume: ResumeOpt = False,
    max_tokens: MaxTokensOpt = None,
    context_length: ContextOpt = None,
    retriever: RetrieverOpt = "local",
    prompt_form: PromptFormOpt = "flush",
    best_variant: BestVariantOpt = "library",
    constrain: ConstrainOpt = None,
    keep_hidden_text: KeepHiddenOpt = False,
) -> None:
    """Review papers and print a readable summary per paper; JSON + Markdown go to DIR/reviews/.

    All papers run as one batch through the run store (DIR/run.sqlite); rerun with --resume to continue an interrupted run. An unreadable file is reported and the rest goes on (exit 3); when no file could be read it is an error (exit 2).

    Example: cycleresearcher review paper.pdf drafts/ --reviewer deepreviewer --mode best -o runs/rev1
    """
    from ..app.review import ReviewRequest, review, reviewer_model
    from ..app.session import ModelChoice, Sessions
    from ..app.sources import PaperSource
    from ._common import console
    from ._report import ConsoleReport

    chosen = reviewer_model(model, base_url, reviewer.value)
    options = engine_options(engine_opt, model=chosen, engine=engine, base_url=base_url)
    choice = ModelChoice(
        model=model, engine=engine, base_url=base_url, api_key=api_key, options=options,
        max_tokens=max_tokens, constrain=constrain,
    )  # fmt: skip
    request = ReviewRequest(
        [PaperSource.file(f) for f in files], reviewer=reviewer.value, mode=mode.value, reviewer_num=reviewers,
        choice=choice, run_dir=output_dir, resume=resume, keep_hidden_text=keep_hidden_text,
        context_length=context_length, retriever=retriever, prompt_form=prompt_form, best_variant=best_variant,
    )  # fmt: skip
    for note in request.unused_options():
        console.print(f"[yellow]Note:[/] {note}", soft_wrap=True)
    with Sessions() as sessions:
        result = review(request, sessions, ConsoleReport())
    _render(result)
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


def _render(result) -> None:
    """Skipped inputs, one summary per paper, the count line and the first failure."""
    from rich.markup import escape

    from ..review.summary import summary_renderable
    from ._common import console, out

    for label, message in result.unreadable:
        # soft_wrap: keep each message (and the paths in it) on one line, as printed
        skipped = f"[bold red]Skipped:[/] {escape(message)}" if label in message else f"[bold red]Skipped[/] {escape(label)}: {escape(message)}"
        console.print(skipped, soft_wrap=True)
    for outcome in result.outcomes:
        out.print(summary_renderable(outcome))
        out.print()
    failed, run_dir = result.failed, result.run_dir
    console.print(
        f"Reviewed {len(result.reviewed)} paper(s)"
        + (f", {len(failed)} failed" if failed else "")
        + (f", {len(result.unreadable)} unreadable" if result.unreadable else "")
        + (f". Reviews: {run_dir / 'reviews'}" if result.exported else f". Run: {run_dir}" if result.outcomes else ".")
        + (f"  (resume: --resume -o {run_dir})" if result.outcomes else ""),
        soft_wrap=True,
    )
    if failed:
        first = (failed[0].error or "no review").splitlines()[0]
        console.print(
            f"[bold red]{len(failed)} review(s) failed[/] (nothing exported for them); first error: "
            f"{escape(first)}. Fix the cause, then rerun with --resume -o {run_dir}.",
            soft_wrap=True,
        )
