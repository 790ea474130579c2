"""The evaluation use cases: the papers' tables (paper quality, reviewer accuracy, detection) and
the judged win rate of two review sets.

Each takes a typed request and returns a ``TableResult``: the table (rendered by the shell: a rich
table in the terminal, JSON from the web API) and the files written. The files are written here,
so ``-o`` means the same wherever the use case is called from; a request with ``write=False``
writes nothing (the web page's table of a run). The numbers come from ``evaluation``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import write_text
from ..errors import InputError
from .report import Report
from .runfolder import new_run_dir, run_dir, run_lock
from .session import ModelChoice, Sessions

if TYPE_CHECKING:
    from ..evaluation.records import ReviewedPaper
    from ..evaluation.tables import ResultTable
    from ..evaluation.winrate import Judgement

GROUP_BY = ("run", "folder", "label", "reviewer")
#: the judge's token limit and the characters of each review (and paper) it is shown
JUDGE_MAX_TOKENS = 400
JUDGE_MAX_CHARS = 12000


@dataclass
class TableResult:
    """A table and where it was written (``directory`` None: nothing was written)."""

    table: ResultTable
    written: list[Path] = field(default_factory=list)
    directory: Path | None = None
    #: ``reviewers``: the metrics by name (reviewers.json, ``--json``)
    metrics: dict[str, Any] | None = None
    #: why nothing usable came out although the table was made (``papers``: not one review could
    #: be parsed); the CLI exits 3 with it
    problem: str | None = None


# -- papers -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PapersRequest:
    """``evaluate papers``: one row per group of reviewed papers."""

    sources: Sequence[Path]
    group_by: str = "run"
    labels: Path | None = None
    accept_threshold: float | None = None
    ci: bool = False
    seed: int = 0
    novelty: bool = False
    #: the folder to write papers.md / .csv / _ratings.png into (None: runs/evaluate-papers-<time>)
    out: str | Path | None = None
    write: bool = True


def evaluate_papers(req: PapersRequest, report: Report) -> TableResult:
    """The paper-quality table. Sources with no review at all are left out with a warning, and
    with no review anywhere (a research run, a run whose every request failed) this is an
    InputError saying what was found (a table of undefined cells would read as a result). When
    reviews were found and not one could be parsed, the table is made and ``problem`` says so."""
    from ..evaluation.loading import load_labels, load_reviews
    from ..evaluation.quality import paper_quality, quality_table

    if req.group_by not in GROUP_BY:
        raise InputError(f"--group-by must be run, folder, label or reviewer, not {req.group_by!r}.")
    report.step("reading the reviews", len(req.sources))
    label_map = load_labels(req.labels) if req.labels else None
    reviewed = load_reviews(list(req.sources), req.group_by, label_map, report.warn)  # type: ignore[arg-type]
    rows = paper_quality(reviewed, accept_threshold=req.accept_threshold, ci=req.ci, seed=req.seed)
    table = quality_table(rows, req.accept_threshold, req.ci)
    if req.novelty:
        from ..evaluation.novelty import add_novelty_column

        add_novelty_column(table, reviewed)
    result = TableResult(table)
    unparsed = [r for r in rows if r.papers and r.failed == r.papers]
    for row in unparsed:
        first = next(p for p in reviewed if p.group == row.group and not p.not_reviewed)
        why = f"{first.source}: {first.warnings[0]}" if first.warnings else first.source
        report.warn(
            f"{row.group}: not one of its {row.papers} review(s) could be parsed (first: {why}). If it "
            "holds papers rather than reviews, review them first: cycleresearcher review <the papers> -o DIR."
        )
    if unparsed and len(unparsed) == len([r for r in rows if r.papers]):
        result.problem = "Not one review could be parsed: the table holds failed parses only."
    if req.write:
        directory = Path(run_dir(_str(req.out), "evaluate-papers"))
        result.written = [*table.write(directory, "papers"), _ratings_plot(reviewed, rows, directory)]
        result.directory = directory
    return result


def _ratings_plot(reviewed: Sequence[ReviewedPaper], rows: Sequence[Any], directory: Path) -> Path:
    from ..evaluation.plots import rating_distribution

    ratings: dict[str, list[float]] = {r.group: [] for r in rows}
    for paper in reviewed:
        score = paper.score("rating")
        if paper.parsed and score is not None:
            ratings[paper.group].append(score)
    failed = {r.group: r.failed for r in rows}
    return rating_distribution(ratings, directory / "papers_ratings.png", failed, "Rating distribution")


# -- reviewers ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewersRequest:
    """``evaluate reviewers``: predicted reviews against human ones."""

    truth: Path
    pred: Path
    tie_rule: str = "half"
    out: str | Path | None = None
    write: bool = True


def evaluate_reviewers(req: ReviewersRequest, report: Report) -> TableResult:
    from ..evaluation.loading import load_predictions, load_truth
    from ..evaluation.reviewers import TIE_RULES, align_predictions, reviewer_accuracy, reviewer_table

    if req.tie_rule not in TIE_RULES:
        raise InputError(f"--tie-rule must be one of {', '.join(TIE_RULES)}, not {req.tie_rule!r}.")
    report.step("reading the human and the predicted reviews")
    human = load_truth(req.truth)
    predictions = align_predictions(human, load_predictions(req.pred))
    if not any(h.paper_id in predictions for h in human):
        raise InputError(
            f"No predicted review in {req.pred} matches a paper id of {req.truth} (files must be named "
            f"<paper id>.txt/.json; ids look like {human[0].paper_id!r})."
        )
    accuracy = reviewer_accuracy(human, predictions, tie_rule=req.tie_rule)  # type: ignore[arg-type]
    result = TableResult(reviewer_table(accuracy), metrics=accuracy.metrics())
    if req.write:
        directory = Path(run_dir(_str(req.out), "evaluate-reviewers"))
        metrics_path = directory / "reviewers.json"
        written = result.table.write(directory, "reviewers")
        write_text(metrics_path, json.dumps(result.metrics, indent=1) + "\n")
        result.written, result.directory = [*written, metrics_path], directory
    return result


# -- detection ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DetectionRequest:
    """``evaluate detection``: the detector's accuracy on labelled papers, one row per source."""

    results: Sequence[Path]
    labels: Path | None = None
    score: str | None = None
    threshold: float | None = None
    out: str | Path | None = None
    write: bool = True


def evaluate_detection(req: DetectionRequest, report: Report) -> TableResult:
    from ..evaluation.detection import detection_row, detection_table, label_key
    from ..evaluation.loading import _unique_names, load_detection_labels, load_detections

    if req.score not in (None, "probability", "criterion"):
        raise InputError(f"--score must be probability or criterion, not {req.score!r}.")
    report.step("reading the detection results", len(req.results))
    label_map = load_detection_labels(req.labels) if req.labels else None
    rows, used = [], set()
    for path, name in zip(req.results, _unique_names(req.results), strict=True):
        results = load_detections(path)
        row = detection_row(name, results, label_map, req.score, req.threshold, str(path))  # type: ignore[arg-type]
        rows.append(row)
        if label_map:
            used |= {label_key(pid, record, label_map) for pid, record in results.items()}
        if req.score is None and row.score == "probability" and row.no_score:
            report.warn(
                f"{path}: {len(row.no_score)} labelled result(s) have no probability and are counted in "
                f"No score ({_first(row.no_score)}); --score criterion --threshold T scores every result "
                "by its criterion."
            )
    if label_map and (unmatched := [key for key in label_map if key not in used]):
        # as `detect --labels` names the files it has no label for, name the labels with no result
        report.warn(
            f"{req.labels}: {len(unmatched)} label row(s) match no result and are not counted: "
            f"{_first(unmatched)}."
        )
    if not any(r.papers for r in rows):
        raise InputError("No labelled result: give --labels CSV (paper_id,label) whose ids match the results.")
    result = TableResult(detection_table(rows))
    if req.write:
        directory = Path(run_dir(_str(req.out), "evaluate-detection"))
        result.written, result.directory = result.table.write(directory, "detection"), directory
    return result


def _first(names: Sequence[str], shown: int = 5) -> str:
    """The first few names, "..." when there are more."""
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")


# -- win rate (the judge) -----------------------------------------------------------------------
@dataclass(frozen=True)
class WinrateRequest:
    """``evaluate winrate``: a model judges reviews A against reviews B of the same papers."""

    a: Path
    b: Path
    seed: int = 0
    #: a folder of <paper id>.tex/.md/.txt shown to the judge with the reviews
    papers: Path | None = None
    max_chars: int = JUDGE_MAX_CHARS
    #: the run directory (its store keeps the judge's requests: the same request resumes)
    out: str | Path | None = None


@dataclass
class WinrateResult(TableResult):
    judgements: list[Judgement] = field(default_factory=list)

    @property
    def failed(self) -> list[Judgement]:
        """Judgements whose request failed or whose answer has no verdict that could be read."""
        return [j for j in self.judgements if j.error or all(o == "unparsed" for o in j.outcomes.values())]

    def first_failure(self) -> tuple[str, str]:
        """(paper id, the first line of why) of the first failed judgement."""
        first = self.failed[0]
        why = first.error or "no 'Aspect: A|B|Tie' line in the judge's answer"
        return first.paper_id, why.splitlines()[0] if why else ""


def judge_winrate(req: WinrateRequest, choice: ModelChoice, sessions: Sessions, report: Report) -> WinrateResult:
    """Judge every paper reviewed in both sets (the A/B order drawn per paper with the seed and
    recorded); writes winrate.md / .csv and judgements.jsonl into the run directory."""
    from ..engines import SamplingParams
    from ..evaluation.loading import load_paper_texts, load_review_texts
    from ..evaluation.winrate import aggregate, judge, judge_prompt, plan_pairs, winrate_table
    from ..progress import reporting

    texts_a, texts_b = load_review_texts(req.a), load_review_texts(req.b)
    pairs = plan_pairs(texts_a, texts_b, req.seed)
    if not pairs:
        raise InputError(
            f"No paper is reviewed in both {req.a} and {req.b} (reviews are matched by paper id / file stem)."
        )
    if only := sorted(set(texts_a) ^ set(texts_b)):
        report.warn(f"{len(only)} paper(s) reviewed in only one set are skipped: {', '.join(only[:5])}")
    paper_texts = load_paper_texts(req.papers) if req.papers else None
    max_tokens = choice.max_tokens or JUDGE_MAX_TOKENS
    sampling = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=max_tokens, seed=req.seed)
    report.step("judging", len(pairs))
    with new_run_dir(_str(req.out), "evaluate-winrate") as directory:  # removed if the judge never ran
        from ..store import RunStore

        with run_lock(directory, "evaluate winrate"), RunStore(directory) as store:
            store.set_meta("command", "evaluate winrate")
            settings = {"a": str(req.a), "b": str(req.b), "seed": req.seed, "model": choice.model}
            store.set_meta("settings", {**settings, "max_chars": req.max_chars})
            engine = sessions.engine(choice, "researcher")
            with reporting(report.tokens("judging")):
                judgements = judge(engine, pairs, paper_texts, store, sampling, req.max_chars)
    name_a, name_b = _names(req.a, req.b)
    rows = aggregate(judgements, judge_prompt()["aspects"])
    result = WinrateResult(winrate_table(rows, judgements, name_a, name_b, req.seed), judgements=judgements)
    jsonl = directory / "judgements.jsonl"
    written = result.table.write(directory, "winrate")
    write_text(jsonl, "".join(json.dumps(j.to_dict(), ensure_ascii=False) + "\n" for j in judgements))
    result.written, result.directory = [*written, jsonl], directory
    return result


def _names(a: Path, b: Path) -> tuple[str, str]:
    name_a, name_b = a.name or "A", b.name or "B"
    if name_a == name_b:
        name_a, name_b = f"A ({name_a})", f"B ({name_b})"
    return name_a, name_b


def _str(path: str | Path | None) -> str | None:
    return None if path is None else str(path)


__all__ = [
    "DetectionRequest",
    "PapersRequest",
    "ReviewersRequest",
    "TableResult",
    "WinrateRequest",
    "WinrateResult",
    "evaluate_detection",
    "evaluate_papers",
    "evaluate_reviewers",
    "judge_winrate",
]
