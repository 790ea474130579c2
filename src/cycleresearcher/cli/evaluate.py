"""CLI: ``cycleresearcher evaluate papers|reviewers|detection|winrate``.

Each command prints a rich table and writes Markdown + CSV (+ PNG / JSON / JSONL where useful)
into ``-o DIR``; only ``winrate`` keeps a run store there (its judge's requests, for resuming).
The use cases (and the files they write) are ``app.evaluate``; this module maps the options onto
their requests and prints the tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..app.evaluate import JUDGE_MAX_CHARS, JUDGE_MAX_TOKENS
from ._aliases import OUT_ALIASES, aliased
from ._common import (
    EXIT_FAILED,
    ApiKeyOpt,
    BaseUrlOpt,
    EngineOpt,
    EngineOptOpt,
    ModelOpt,
    console,
    engine_options,
    guard,
    out,
)
from ._group import group
from ._tables import print_table


def _out_opt(writes: str, default: str):
    """``-o/--out`` saying what this command writes there (the table commands keep no run store)."""
    return Annotated[Optional[str], typer.Option(
        "--out", "-o", help=f"Folder to write {writes} into (no run store). Default: runs/{default}-<timestamp>.",
    )]


PapersOut = _out_opt("papers.md, papers.csv and papers_ratings.png", "evaluate-papers")
ReviewersOut = _out_opt("reviewers.md, reviewers.csv and reviewers.json", "evaluate-reviewers")
DetectionOut = _out_opt("detection.md and detection.csv", "evaluate-detection")
WinrateOut = Annotated[Optional[str], typer.Option(
    "--out", "-o",
    help="Run directory: winrate.md, winrate.csv, judgements.jsonl and the SQLite run store of the "
    "judge's requests (run.sqlite; rerunning the same command resumes) with its lock (run.lock: one process at a time). Default: runs/evaluate-winrate-<timestamp>.",
)]
CiSeedOpt = Annotated[int, typer.Option("--seed", help="Random seed of the bootstrap resampling (--ci).")]
OrderSeedOpt = Annotated[int, typer.Option(
    "--seed", help="Random seed of the A/B order: which review the judge reads first, per paper.")]


def register(app: typer.Typer) -> None:
    evaluate = group(
        "evaluate",
        "The papers' tables from papers and reviews: quality, reviewer accuracy, detection, win rate.",
        default="papers",
    )
    evaluate.command("papers", cls=aliased(**OUT_ALIASES))(papers)
    evaluate.command("reviewers", cls=aliased(**OUT_ALIASES))(reviewers)
    evaluate.command("detection", cls=aliased(**OUT_ALIASES))(detection)
    evaluate.command("winrate", cls=aliased(**OUT_ALIASES))(winrate)
    app.add_typer(evaluate, name="evaluate")


def _shown(result, stdout: bool = True) -> None:
    """The use case's table (on stdout, or stderr when stdout carries JSON) and what it wrote;
    exit 3 when nothing usable came out of it."""
    print_table(out if stdout else console, result.table.to_rich())
    console.print("Wrote " + ", ".join(str(p) for p in result.written))
    if result.problem:
        console.print(f"[bold red]{escape(result.problem)}[/]", soft_wrap=True)
        raise typer.Exit(EXIT_FAILED)


@guard
def papers(
    sources: Annotated[list[Path], typer.Argument(
        help="Run directories (-o of `review`), folders of review files (.json / raw .txt), or review files.")],
    group_by: Annotated[str, typer.Option(
        "--group-by",
        help="One row per: run (each argument), folder (each folder holding reviews), label (--labels), reviewer (run records' reviewer).",
    )] = "run",
    labels: Annotated[Optional[Path], typer.Option(
        "--labels", help="CSV with columns paper_id,label (for --group-by label).")] = None,
    accept_threshold: Annotated[Optional[float], typer.Option(
        "--accept-threshold", help="Accept when the paper-level rating >= X (default: the reviewer's own decision).",
    )] = None,
    ci: Annotated[bool, typer.Option("--ci", help="Add bootstrap 95% intervals (seeded, resampling papers).")] = False,
    seed: CiSeedOpt = 0,
    output_dir: PapersOut = None,
    novelty: Annotated[bool, typer.Option(
        "--novelty", help="Add the Close prior work column from the papers' novelty checks (research novelty).",
    )] = False,
) -> None:
    """Paper-quality table per group (Avg Min / Max / Score, Accept Rate, dimensions) and a plot.

    Also the soundness / presentation / contribution means, papers and failed parses per group.

    Example: cycleresearcher evaluate papers runs/review-12b runs/review-72b --ci -o runs/eval

    Writes papers.md, papers.csv and papers_ratings.png into -o. Exits 3 when not one review
    could be parsed (the table of failed parses is still written).
    """
    from ..app.evaluate import PapersRequest, evaluate_papers
    from ._report import ConsoleReport

    request = PapersRequest(sources, group_by, labels, accept_threshold, ci, seed, novelty, output_dir)
    _shown(evaluate_papers(request, ConsoleReport()))


@guard
def reviewers(
    truth: Annotated[Path, typer.Option(
        "--truth",
        help="Human reviews: JSON list of {id, decision, review: [{rating, content: {soundness, ...}}]}.",
    )],
    pred: Annotated[Path, typer.Option(
        "--pred",
        help="Predicted reviews: a folder of <paper id>.txt (raw model output) or .json (parsed), or a review run directory.",
    )],
    json_output: Annotated[bool, typer.Option(
        "--json",
        help="Print the metrics as JSON on stdout (keys like rating_mse_n, rating_mse_n_minus_1, decision_f1_macro).",
    )] = False,
    tie_rule: Annotated[str, typer.Option(
        "--tie-rule",
        help="Pairwise accuracy: 'half' (human ties skipped, predicted ties 0.5) or 'upstream' (the authors' order-dependent rule).",
    )] = "half",
    output_dir: ReviewersOut = None,
) -> None:
    """Reviewer accuracy against human reviews: MSE / MAE (n, n-1), Spearman, pairwise, decisions.

    MSE / MAE against the human mean (n) and the leave-one-out mean (n-1), Spearman and pairwise
    ranking accuracy across papers, decision accuracy and macro F1.

    Example: cycleresearcher evaluate reviewers --truth human.json --pred runs/review/reviews --json

    Writes reviewers.md, reviewers.csv and reviewers.json into -o.
    """
    from ..app.evaluate import ReviewersRequest, evaluate_reviewers
    from ._report import ConsoleReport

    result = evaluate_reviewers(ReviewersRequest(truth, pred, tie_rule, output_dir), ConsoleReport())
    _shown(result, stdout=not json_output)
    if json_output:
        out.print_json(json.dumps(result.metrics))


@guard
def detection(
    results: Annotated[list[Path], typer.Argument(
        help="Detection results: run directories of `detect`, or JSON / JSONL files of {paper_id, probability, criterion, [label]}."
    )],
    labels: Annotated[Optional[Path], typer.Option(
        "--labels", help="CSV with columns paper_id,label (label: human / generated, or 0 / 1).")] = None,
    score: Annotated[
        Optional[str], typer.Option(
            "--score", help="probability (default when any result has one) or criterion.")] = None,
    threshold: Annotated[Optional[float], typer.Option(
        "--threshold", help="Generated when score > threshold (default 0.5 for probability; required for criterion).",
    )] = None,
    output_dir: DetectionOut = None,
) -> None:
    """Detection table: accuracy, F1 and AUROC of the detector on labelled papers.

    Example: cycleresearcher evaluate detection runs/detect --labels labels.csv -o runs/eval

    Writes detection.md and detection.csv into -o.
    """
    from ..app.evaluate import DetectionRequest, evaluate_detection
    from ._report import ConsoleReport

    _shown(evaluate_detection(DetectionRequest(results, labels, score, threshold, output_dir), ConsoleReport()))


@guard
def winrate(
    a: Annotated[Path, typer.Option(
        "--a", help="Reviews A: a review run directory or a folder of <paper id>.txt/.json.")],
    b: Annotated[Path, typer.Option("--b", help="Reviews B (same papers, same naming).")],
    model: ModelOpt = None,
    engine: EngineOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    engine_opt: EngineOptOpt = None,
    seed: OrderSeedOpt = 0,
    papers_dir: Annotated[Optional[Path], typer.Option(
        "--papers", help="Optional folder of <paper id>.tex/.md/.txt so the judge also sees the paper.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Max new tokens of the judge.")] = JUDGE_MAX_TOKENS,
    max_chars: Annotated[
        int, typer.Option(min=1, help="Each review (and paper) is cut to this many characters.")] = JUDGE_MAX_CHARS,
    output_dir: WinrateOut = None,
) -> None:
    """Win rate of reviews A over reviews B, per aspect, judged by an LLM through any engine.

    Example: cycleresearcher evaluate winrate --a runs/deep/reviews --b runs/cycle/reviews --base-url http://127.0.0.1:8000/v1 --model judge

    The A/B order is drawn per paper with --seed and recorded; only explicit 'Aspect: A|B|Tie'
    lines count, anything else is reported as unparsed. Writes winrate.md, winrate.csv and
    judgements.jsonl into -o (a run store: rerunning the same command resumes). Exits 3 when a
    judge request failed or a judgement has no verdict that could be read.
    """
    from ..app.evaluate import WinrateRequest, judge_winrate
    from ..app.session import ModelChoice, Sessions
    from ._report import ConsoleReport

    options = engine_options(engine_opt, model=model, engine=engine, base_url=base_url)
    choice = ModelChoice(model, engine, base_url, api_key, options, max_tokens)
    request = WinrateRequest(a, b, seed, papers_dir, max_chars, output_dir)
    with Sessions() as sessions:
        result = judge_winrate(request, choice, sessions, ConsoleReport())
    _shown(result)
    if result.failed:  # a judgement with no readable verdict is a failed item, like a failed request
        paper_id, why = result.first_failure()
        console.print(
            f"[bold red]{len(result.failed)} of {len(result.judgements)} judgement(s) failed or gave no "
            f"verdict[/]; first ({escape(paper_id)}): {escape(why)}",
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_FAILED)
