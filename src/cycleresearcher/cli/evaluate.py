"""CLI: ``cycleresearcher evaluate papers|reviewers|detection|winrate``.

Each command prints a rich table and writes Markdown + CSV (+ PNG / JSON / JSONL where useful)
into ``-o DIR``; only ``winrate`` keeps a run store there (its judge's requests, for resuming).
The numbers come from the pure functions in ``cycleresearcher.evaluation``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..app.runfolder import new_run_dir, run_dir
from ._aliases import OUT_ALIASES, aliased
from ._common import (
    EXIT_FAILED,
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
    return Annotated[
        Optional[str],
        typer.Option(
            "--out",
            "-o",
            help=f"Folder to write {writes} into (no run store). Default: runs/{default}-<timestamp>.",
        ),
    ]


PapersOut = _out_opt("papers.md, papers.csv and papers_ratings.png", "evaluate-papers")
ReviewersOut = _out_opt("reviewers.md, reviewers.csv and reviewers.json", "evaluate-reviewers")
DetectionOut = _out_opt("detection.md and detection.csv", "evaluate-detection")
WinrateOut = Annotated[
    Optional[str],
    typer.Option(
        "--out",
        "-o",
        help="Run directory: winrate.md, winrate.csv, judgements.jsonl and the SQLite run store of the "
        "judge's requests (run.sqlite; rerunning the same command resumes). Default: runs/evaluate-winrate-<timestamp>.",
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (bootstrap resampling / A-B order).")]


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


def _wrote(paths: list[Path]) -> None:
    console.print("Wrote " + ", ".join(str(p) for p in paths))


@guard
def papers(
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="Run directories (-o of `review`), folders of review files (.json / raw .txt), or review files."
        ),
    ],
    group_by: Annotated[
        str,
        typer.Option(
            "--group-by",
            help="One row per: run (each argument), folder (each folder holding reviews), label (--labels), reviewer (run records' reviewer).",
        ),
    ] = "run",
    labels: Annotated[
        Optional[Path],
        typer.Option("--labels", help="CSV with columns paper_id,label (for --group-by label)."),
    ] = None,
    accept_threshold: Annotated[
        Optional[float],
        typer.Option(
            "--accept-threshold",
            help="Accept when the paper-level rating >= X (default: the reviewer's own decision).",
        ),
    ] = None,
    ci: Annotated[
        bool, typer.Option("--ci", help="Add bootstrap 95% intervals (seeded, resampling papers).")
    ] = False,
    seed: SeedOpt = 0,
    output_dir: PapersOut = None,
    novelty: Annotated[
        bool,
        typer.Option(
            "--novelty",
            help="Add the Close prior work column from the papers' novelty checks (research novelty).",
        ),
    ] = False,
) -> None:
    """Paper-quality table per group (Avg Min / Max / Score, Accept Rate, dimensions) and a plot.

    Also the soundness / presentation / contribution means, papers and failed parses per group.

    Example: cycleresearcher evaluate papers runs/review-12b runs/review-72b --ci -o runs/eval

    Writes papers.md, papers.csv and papers_ratings.png into -o.
    """
    from ..errors import InputError
    from ..evaluation.loading import load_labels, load_reviews
    from ..evaluation.plots import rating_distribution
    from ..evaluation.quality import paper_quality, quality_table

    if group_by not in ("run", "folder", "label", "reviewer"):
        raise InputError(f"--group-by must be run, folder, label or reviewer, not {group_by!r}.")
    label_map = load_labels(labels) if labels else None
    reviewed = load_reviews(sources, group_by=group_by, labels=label_map)  # type: ignore[arg-type]
    rows = paper_quality(reviewed, accept_threshold=accept_threshold, ci=ci, seed=seed)
    table = quality_table(rows, accept_threshold, ci)
    if novelty:
        from ..evaluation.novelty import add_novelty_column

        add_novelty_column(table, reviewed)
    print_table(out, table.to_rich())
    directory = Path(run_dir(output_dir, "evaluate-papers"))
    written = table.write(directory, "papers")
    ratings: dict[str, list[float]] = {r.group: [] for r in rows}
    for paper in reviewed:
        score = paper.score("rating")
        if paper.parsed and score is not None:
            ratings[paper.group].append(score)
    failed = {r.group: r.failed for r in rows}
    written.append(
        rating_distribution(ratings, directory / "papers_ratings.png", failed, "Rating distribution")
    )
    _wrote(written)


@guard
def reviewers(
    truth: Annotated[
        Path,
        typer.Option(
            "--truth",
            help="Human reviews: JSON list of {id, decision, review: [{rating, content: {soundness, ...}}]}.",
        ),
    ],
    pred: Annotated[
        Path,
        typer.Option(
            "--pred",
            help="Predicted reviews: a folder of <paper id>.txt (raw model output) or .json (parsed), or a review run directory.",
        ),
    ],
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the metrics as JSON on stdout (keys like rating_mse_n, rating_mse_n_minus_1, decision_f1_macro).",
        ),
    ] = False,
    tie_rule: Annotated[
        str,
        typer.Option(
            "--tie-rule",
            help="Pairwise accuracy: 'half' (human ties skipped, predicted ties 0.5) or 'upstream' (the authors' order-dependent rule).",
        ),
    ] = "half",
    output_dir: ReviewersOut = None,
) -> None:
    """Reviewer accuracy against human reviews: MSE / MAE (n, n-1), Spearman, pairwise, decisions.

    MSE / MAE against the human mean (n) and the leave-one-out mean (n-1), Spearman and pairwise
    ranking accuracy across papers, decision accuracy and macro F1.

    Example: cycleresearcher evaluate reviewers --truth human.json --pred runs/review/reviews --json

    Writes reviewers.md, reviewers.csv and reviewers.json into -o.
    """
    from ..errors import InputError
    from ..evaluation.loading import load_predictions, load_truth
    from ..evaluation.reviewers import TIE_RULES, align_predictions, reviewer_accuracy, reviewer_table

    if tie_rule not in TIE_RULES:
        raise InputError(f"--tie-rule must be one of {', '.join(TIE_RULES)}, not {tie_rule!r}.")
    human = load_truth(truth)
    predictions = align_predictions(human, load_predictions(pred))
    if not any(h.paper_id in predictions for h in human):
        raise InputError(
            f"No predicted review in {pred} matches a paper id of {truth} (files must be named <paper id>.txt/.json; "
            f"ids look like {human[0].paper_id!r})."
        )
    result = reviewer_accuracy(human, predictions, tie_rule=tie_rule)  # type: ignore[arg-type]
    table = reviewer_table(result)
    metrics = result.metrics()
    print_table(console if json_output else out, table.to_rich())
    directory = Path(run_dir(output_dir, "evaluate-reviewers"))
    written = table.write(directory, "reviewers")
    metrics_path = directory / "reviewers.json"
    metrics_path.write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    written.append(metrics_path)
    if json_output:
        out.print_json(json.dumps(metrics))
    _wrote(written)


@guard
def detection(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="Detection results: run directories of `detect`, or JSON / JSONL files of {paper_id, probability, criterion, [label]}."
        ),
    ],
    labels: Annotated[
        Optional[Path],
        typer.Option(
            "--labels", help="CSV with columns paper_id,label (label: human / generated, or 0 / 1)."
        ),
    ] = None,
    score: Annotated[
        Optional[str], typer.Option("--score", help="probability (default when present) or criterion.")
    ] = None,
    threshold: Annotated[
        Optional[float],
        typer.Option(
            "--threshold",
            help="Generated when score > threshold (default 0.5 for probability; required for criterion).",
        ),
    ] = None,
    output_dir: DetectionOut = None,
) -> None:
    """Detection table: accuracy, F1 and AUROC of the detector on labelled papers.

    Example: cycleresearcher evaluate detection runs/detect --labels labels.csv -o runs/eval

    Writes detection.md and detection.csv into -o.
    """
    from ..errors import InputError
    from ..evaluation.detection import detection_row, detection_table
    from ..evaluation.loading import _unique_names, load_detection_labels, load_detections

    if score not in (None, "probability", "criterion"):
        raise InputError(f"--score must be probability or criterion, not {score!r}.")
    label_map = load_detection_labels(labels) if labels else None
    rows = [
        detection_row(name, load_detections(path), label_map, score, threshold)  # type: ignore[arg-type]
        for path, name in zip(results, _unique_names(results), strict=True)
    ]
    if not any(r.papers for r in rows):
        raise InputError(
            "No labelled result: give --labels CSV (paper_id,label) whose ids match the results."
        )
    table = detection_table(rows)
    print_table(out, table.to_rich())
    _wrote(table.write(Path(run_dir(output_dir, "evaluate-detection")), "detection"))


@guard
def winrate(
    a: Annotated[
        Path,
        typer.Option("--a", help="Reviews A: a review run directory or a folder of <paper id>.txt/.json."),
    ],
    b: Annotated[Path, typer.Option("--b", help="Reviews B (same papers, same naming).")],
    model: ModelOpt = None,
    engine: EngineOpt = None,
    base_url: BaseUrlOpt = None,
    engine_opt: EngineOptOpt = None,
    seed: SeedOpt = 0,
    papers_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--papers", help="Optional folder of <paper id>.tex/.md/.txt so the judge also sees the paper."
        ),
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Max new tokens of the judge.")] = 400,
    max_chars: Annotated[
        int, typer.Option(help="Each review (and paper) is cut to this many characters.")
    ] = 12000,
    output_dir: WinrateOut = None,
) -> None:
    """Win rate of reviews A over reviews B, per aspect, judged by an LLM through any engine.

    Example: cycleresearcher evaluate winrate --a runs/deep/reviews --b runs/cycle/reviews --base-url http://127.0.0.1:8000/v1 --model judge

    The A/B order is drawn per paper with --seed and recorded; only explicit 'Aspect: A|B|Tie'
    lines count, anything else is reported as unparsed. Writes winrate.md, winrate.csv and
    judgements.jsonl into -o (a run store: rerunning the same command resumes). Exits 3 when a
    judge request failed or a judgement has no verdict that could be read.
    """
    from ..engines import SamplingParams, create_engine
    from ..errors import InputError
    from ..evaluation.loading import load_paper_texts, load_review_texts
    from ..evaluation.winrate import aggregate, judge, judge_prompt, plan_pairs, winrate_table
    from ..store import RunStore

    texts_a, texts_b = load_review_texts(a), load_review_texts(b)
    pairs = plan_pairs(texts_a, texts_b, seed)
    if not pairs:
        raise InputError(
            f"No paper is reviewed in both {a} and {b} (reviews are matched by paper id / file stem)."
        )
    only = sorted(set(texts_a) ^ set(texts_b))
    if only:
        console.print(
            f"[yellow]{len(only)} paper(s) reviewed in only one set are skipped: {', '.join(only[:5])}[/]"
        )
    paper_texts = load_paper_texts(papers_dir) if papers_dir else None
    with new_run_dir(output_dir, "evaluate-winrate") as directory:  # removed if the judge never ran
        sampling = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=max_tokens, seed=seed)
        with RunStore(directory) as store:
            store.set_meta("command", "evaluate winrate")
            store.set_meta(
                "settings", {"a": str(a), "b": str(b), "seed": seed, "model": model, "max_chars": max_chars}
            )
            judge_engine = create_engine(
                model,
                engine,
                base_url,
                family="researcher",
                **engine_options(engine_opt, model=model, engine=engine, base_url=base_url),
            )
            try:
                from ..progress import for_stderr, reporting

                with reporting(for_stderr(console, "judging")):
                    judgements = judge(judge_engine, pairs, paper_texts, store, sampling, max_chars)
            finally:
                judge_engine.close()
    name_a, name_b = _names(a, b)
    table = winrate_table(aggregate(judgements, judge_prompt()["aspects"]), judgements, name_a, name_b, seed)
    print_table(out, table.to_rich())
    written = table.write(directory, "winrate")
    jsonl = directory / "judgements.jsonl"
    jsonl.write_text(
        "".join(json.dumps(j.to_dict(), ensure_ascii=False) + "\n" for j in judgements), encoding="utf-8"
    )
    _wrote([*written, jsonl])
    # a judgement with no readable verdict is a failed item, like a failed request
    failed = [j for j in judgements if j.error or all(o == "unparsed" for o in j.outcomes.values())]
    if failed:
        first = failed[0].error or "no 'Aspect: A|B|Tie' line in the judge's answer"
        console.print(
            f"[bold red]{len(failed)} of {len(judgements)} judgement(s) failed or gave no verdict[/]; "
            f"first ({failed[0].paper_id}): {first.splitlines()[0] if first else ''}",
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_FAILED)


def _names(a: Path, b: Path) -> tuple[str, str]:
    name_a, name_b = a.name or "A", b.name or "B"
    if name_a == name_b:
        name_a, name_b = f"A ({name_a})", f"B ({name_b})"
    return name_a, name_b
