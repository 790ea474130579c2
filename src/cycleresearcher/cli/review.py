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

from ..app.runfolder import new_run_dir, run_lock
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

    The JSON has decision (Accept / Reject / null), final (rating, soundness, presentation, contribution, confidence), reviewers (scores and text sections per reviewer), avg_rating, min_rating, max_rating and warnings (anything that could not be read).

    Example: cycleresearcher review parse out.txt --reviewer deepreviewer
    """
    from ..review.parse import parse_review

    text = _read(file)
    review = parse_review(text, format=reviewer.value)
    if markdown:
        typer.echo(review.to_markdown(), nl=False)
    else:
        typer.echo(json.dumps(review.to_dict(include_raw=raw), indent=2, ensure_ascii=False))


def _read(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    path = Path(file)
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


def _default_model(model: str | None, base_url: str | None, reviewer: ReviewerName) -> str:
    """--model left out: the server's own model, the released size on a GPU, else the embedded stand-in."""
    if model is not None:
        return model
    if base_url:
        return ""
    from ..hfmodels import cuda_available

    if cuda_available():
        return "8B" if reviewer is ReviewerName.cyclereviewer else "14B"
    return "embedded"


@review_app.command("run", cls=aliased(**OUT_ALIASES))
@guard
def run(
    files: Annotated[
        list[str],
        typer.Argument(
            help="Papers: .pdf, .tex, .md, .txt, Paper .json, folders, or run directories of `research generate`."
        ),
    ],
    reviewer: Annotated[
        ReviewerName, typer.Option("--reviewer", "-r", help="Reviewer model family.")
    ] = ReviewerName.cyclereviewer,
    mode: Annotated[
        ReviewMode,
        typer.Option("--mode", help="DeepReviewer mode (best = search questions + retrieval + second turn)."),
    ] = ReviewMode.standard,
    reviewers: Annotated[
        int,
        typer.Option(
            "--reviewers",
            min=1,
            help="DeepReviewer: number of simulated reviewers ({n} in its prompt). CycleReviewer's prompt fixes 4.",
        ),
    ] = 4,
    model: ModelOpt = None,
    engine: EngineOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    engine_opt: EngineOptOpt = None,
    output_dir: OutDirOpt = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the run in -o DIR: finished requests are reused, nothing is recomputed.",
        ),
    ] = False,
    max_tokens: Annotated[
        Optional[int],
        typer.Option(
            "--max-tokens",
            min=1,
            help="New tokens per review (default: upstream, 7000 CycleReviewer / 35000 DeepReviewer; 3584 on the embedded stand-in, whose input is cut to 3584 tokens).",
        ),
    ] = None,
    context_length: Annotated[
        Optional[int],
        typer.Option(
            "--context-length",
            min=256,
            help="The model's context window in tokens, for servers that do not report it (default: what the engine knows, else upstream 50000 / 90000).",
        ),
    ] = None,
    retriever: Annotated[
        str,
        typer.Option(
            "--retriever",
            help="Best mode retrieval: 'local' (offline, the paper's own references/text), 'none', or an OpenScholar-style URL (POST /batch_ask).",
        ),
    ] = "local",
    prompt_form: Annotated[
        str,
        typer.Option("--prompt-form", help="CycleReviewer system prompt form: flush (default) or indented."),
    ] = "flush",
    best_variant: Annotated[
        str,
        typer.Option(
            "--best-variant",
            help="DeepReviewer Best prompt: library (default) or authors (the authors' evaluation text).",
        ),
    ] = "library",
    constrain: ConstrainOpt = None,
    keep_hidden_text: Annotated[
        bool,
        typer.Option(
            "--keep-hidden-text",
            help="Let the reviewer read hidden text too (white, tiny or invisible text, zero-width characters, hidden HTML). Default: it is left out; either way every review lists what was found.",
        ),
    ] = False,
) -> None:
    """Review papers and print a readable summary per paper; JSON + Markdown go to DIR/reviews/.

    All papers run as one batch through the run store (DIR/run.sqlite); rerun with --resume to continue an interrupted run. An unreadable file is reported and the rest goes on.

    Example: cycleresearcher review paper.pdf drafts/ --reviewer deepreviewer --mode best -o runs/rev1
    """
    from rich.markup import escape

    from ..progress import for_stderr, reporting
    from ..review.runner import review_files
    from ..review.summary import summary_renderable
    from ._common import console, out

    with new_run_dir(output_dir, "review") as folder:  # removed again if nothing could start
        model_name = _default_model(model, base_url, reviewer)
        common = {
            "engine": engine,
            "base_url": base_url,
            "max_tokens": max_tokens,
            "context_length": context_length,
            "constrain": constrain,
            "keep_hidden_text": keep_hidden_text,
            **engine_options(engine_opt, api_key, model=model_name, engine=engine, base_url=base_url),
        }
        options: dict = {}
        if reviewer is ReviewerName.cyclereviewer:
            from ..review.cyclereviewer import CycleReviewer

            if reviewers != 4:
                console.print(
                    "[yellow]Note:[/] --reviewers applies to DeepReviewer; CycleReviewer's prompt asks for 4 reviews."
                )
            rev = CycleReviewer(model=model_name, prompt_form=prompt_form, **common)  # type: ignore[arg-type]
        else:
            from ..review.deepreviewer import DeepReviewer

            rev = DeepReviewer(
                model=model_name,
                retriever=retriever if mode is ReviewMode.best else "none",
                best_variant=best_variant,
                **common,
            )  # type: ignore[arg-type]
            options = {"mode": mode.value, "reviewer_num": reviewers}
        if rev.is_embedded:
            console.print(f"{rev.budget_note()}; --max-tokens / --context-length change it.", soft_wrap=True)
        try:
            with run_lock(folder, "review"), reporting(for_stderr(console, f"Reviewing ({reviewer.value})")):
                result = review_files(files, rev, folder, resume=resume, **options)
        finally:
            rev.close()
        for label, message in result.unreadable:
            # soft_wrap: keep each message (and the paths in it) on one line, as printed
            console.print(
                f"[bold red]Skipped:[/] {escape(message)}"
                if label in message
                else f"[bold red]Skipped[/] {escape(label)}: {escape(message)}",
                soft_wrap=True,
            )
        for outcome in result.outcomes:
            out.print(summary_renderable(outcome))
            out.print()
        ok = sum(1 for o in result.outcomes if o.ok)
        failed = [o for o in result.outcomes if not o.ok]
        console.print(
            f"Reviewed {ok} paper(s)"
            + (f", {len(failed)} failed" if failed else "")
            + (f", {len(result.unreadable)} unreadable" if result.unreadable else "")
            + (
                f". Reviews: {result.run_dir / 'reviews'}  (resume: --resume -o {result.run_dir})"
                if result.outcomes
                else "."
            ),
            soft_wrap=True,
        )
        if failed:
            first = (failed[0].error or "no review").splitlines()[0]
            console.print(
                f"[bold red]{len(failed)} review(s) failed[/] (nothing exported for them); first error: "
                f"{escape(first)}. Fix the cause, then rerun with --resume -o {result.run_dir}.",
                soft_wrap=True,
            )
        if ok == 0 or failed or result.unreadable:
            raise typer.Exit(EXIT_FAILED)
