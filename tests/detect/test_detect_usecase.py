"""The detect and calibrate use cases (``app.detect``, ``app.calibrate``) with a scripted score:
what they read, the records they keep, and that progress goes to the caller's report, never a
line of their own."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cycleresearcher.app.calibrate import CalibrateRequest, calibrate
from cycleresearcher.app.detect import DetectRequest, Stored, Text, detect
from cycleresearcher.app.kinds import RecordKind
from cycleresearcher.app.report import Collect
from cycleresearcher.app.session import Sessions
from cycleresearcher.detect import AIDetector, Stats
from cycleresearcher.errors import InputError
from cycleresearcher.paper.readers import paper_document
from cycleresearcher.progress import LogReporter
from cycleresearcher.store import RunStore

DETECT = Path(__file__).parents[1] / "data" / "detect"


class WordScorer:
    """One token per word; every token of a text holding "machine" scores +1, others -1 (so the
    criterion is +-sqrt(tokens)). The rest is the real AIDetector: windows, progress, verdicts."""

    runtime, context_length = "scripted", 64

    def tokenize(self, text: str) -> list[int]:
        return [int("machine" in text)] * len(text.split())

    def window_stats(self, ids: list[int], w) -> Stats:
        n = w.end - w.score_from
        return Stats(ll=float(n if ids[0] else -n), mu=0.0, var=float(n), n=n)


def scripted() -> AIDetector:
    det = AIDetector.__new__(AIDetector)
    det.scorer, det.window, det.overlap = WordScorer(), 64, 16
    det.max_tokens, det.min_tokens, det.calibration = None, 3, None
    det.scoring_model = det.reference_model = "scripted"
    return det


class Lines(Collect):
    """A report whose token progress is written as the CLI's plain lines."""

    def __init__(self) -> None:
        super().__init__()
        self.stream = io.StringIO()

    def tokens(self, label: str) -> LogReporter:
        return LogReporter(self.stream, interval=0.0, heartbeat=False)


def test_detect_reports_one_batch_to_the_callers_report_and_writes_one_record_per_text(tmp_path: Path):
    report = Lines()
    texts = [Text("a", "a.txt", "human words " * 5), Text("b", "b.txt", "machine words " * 5),
             Text("c", "c.pdf", error="c.pdf: no text layer"), Text("d", "d.txt", "two words")]  # fmt: skip
    result = detect(DetectRequest(texts=texts, output=tmp_path / "out"), Sessions(detector_factory=scripted), report)
    lines = report.stream.getvalue().splitlines()
    assert lines[0].startswith("progress detect: 0/3 requests") and "3/3 requests, 20 tokens" in lines[-1], lines
    assert report.done == 4 and report.warnings[0].startswith("No calibration for this scoring model")
    assert [d.error.split(";")[0] for d in result.failed] == ["c.pdf: no text layer", "The text has 1 scorable tokens"]
    saved = json.loads((tmp_path / "out" / "detections.json").read_text())
    assert saved == result.records and [r["paper_id"] for r in saved] == ["a", "b", "c", "d"]
    assert [r["criterion"] for r in saved] == [-(9**0.5), 9**0.5, None, None]
    assert [r["verdict"] for r in saved] == ["no verdict"] * 4


def test_detect_reads_a_stored_paper_as_detect_run_does(tmp_path: Path):
    run = tmp_path / "run"
    paper = {"title": "T", "latex": "machine words " * 5 + "\\textcolor{white}{hidden machine instruction}"}
    with RunStore(run) as store:
        store.put("paper", "p1", paper)
    sessions = Sessions(detector_factory=scripted)
    stored = detect(DetectRequest(stored=[Stored(run, RecordKind.PAPER, "p1")]), sessions, Collect())
    given = detect(DetectRequest(paths=[str(run)]), sessions, Collect())
    assert [steady(r) for r in stored.records] == [steady(r) for r in given.records]
    [record] = stored.records
    assert record["paper_id"] == "p1" and record["path"] == f"{run}#paper/p1" and record["paper"] is True
    shown = paper_document(paper, "p1").text
    assert "hidden" not in shown and record["n_tokens"] == len(shown.split()) - 1  # the hidden words are not scored


def steady(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "elapsed_s"}


def test_no_text_is_said_before_any_model_loads(tmp_path: Path):
    def no_model():
        raise AssertionError("the model must not load")

    with pytest.raises(InputError, match="No papers found"):
        detect(DetectRequest(paths=[str(tmp_path)]), Sessions(detector_factory=no_model), Collect())


def test_calibrate_scores_both_classes_through_the_report_and_writes_the_file(tmp_path: Path):
    for name in ("human", "machine"):
        (tmp_path / name).mkdir()
        for i in range(3):
            (tmp_path / name / f"{i}.txt").write_text(f"{name} text number {i} " * 4)
    (tmp_path / "human" / "empty.txt").write_text("")
    report = Lines()
    request = CalibrateRequest(tmp_path / "human", tmp_path / "machine", tmp_path / "mine.json", force=True)
    result = calibrate(request, Sessions(detector_factory=scripted), report)
    assert result.scored == {"human": 3, "machine": 3} and result.n_tokens == 15
    assert any("empty.txt" in w for w in report.warnings) and any("WARNING: --force" in w for w in report.warnings)
    lines = report.stream.getvalue().splitlines()
    assert sum(line.startswith("progress detect: 0/3 requests") for line in lines) == 2  # a batch per class
    assert lines[-1].startswith("progress detect: 3/3 requests, 48 tokens"), lines
    written = json.loads((tmp_path / "mine.json").read_text())
    assert written["domain"] == "papers" and written["info"]["cross_validation"]["n"] == 6
    with pytest.raises(InputError, match="3 human and 3 machine texts found"):
        calibrate(CalibrateRequest(tmp_path / "human", tmp_path / "machine"), Sessions(detector_factory=scripted), Collect())


def test_the_run_page_lists_texts_a_cli_detection_scored(tmp_path: Path):
    from support.shells import web

    runs = tmp_path / "runs"
    texts = [Text("a-1", "drafts/a.txt", "machine words " * 5, "Draft A"), Text("b-2", "b.txt", "two words")]
    detect(DetectRequest(texts=texts, output=runs / "det"), Sessions(detector_factory=scripted), Collect())
    page = web(runs).get("/runs/det").text
    table = page.split('data-testid="detections"')[1].split("</table>")[0]
    assert "Draft A" in table and "drafts/a.txt" in table and "criterion 3" in table and "no verdict" in table
    assert "The text has 1 scorable tokens" in table and "holds no papers" not in page
