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
from cycleresearcher.app.sources import failure_line
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


def test_nothing_readable_is_bad_input_and_leaves_no_folder(tmp_path: Path):
    """No readable text: an InputError with one line per input (each path named once), before any
    model loads, and no -o folder left: it once kept run.lock, or a run store and detections files
    holding only "Not scored" records (exit 3)."""
    def no_model():
        raise AssertionError("the model must not load")

    (tmp_path / "empty.md").write_text("")
    inputs = [str(tmp_path / "missing.pdf"), str(tmp_path / "empty.md")]
    out = tmp_path / "runs" / "det"
    with pytest.raises(InputError) as raised:
        detect(DetectRequest(paths=inputs, output=out), Sessions(detector_factory=no_model), Collect())
    lines = str(raised.value).splitlines()
    assert lines[0] == "None of the 2 inputs could be read:"
    assert lines[1] == f"  {tmp_path / 'missing.pdf'}: no such file. Check the path."
    assert lines[2].startswith(f"  {tmp_path / 'empty.md'}: ") and lines[2].count("empty.md") == 1
    assert not (tmp_path / "runs").exists()
    with pytest.raises(InputError, match=r"^\S*missing\.pdf: no such file\. Check the path\.$"):
        detect(DetectRequest(paths=inputs[:1], output=out), Sessions(detector_factory=no_model), Collect())
    with pytest.raises(InputError, match=f"No papers found in {tmp_path / 'runs'}"):  # a folder with no paper
        (tmp_path / "runs").mkdir()
        detect(DetectRequest(paths=[str(tmp_path / "runs")], output=out), Sessions(detector_factory=no_model), Collect())
    assert list((tmp_path / "runs").iterdir()) == []
    kept = tmp_path / "kept"  # a folder that existed before is left as it was: no run.lock in it
    kept.mkdir()
    with pytest.raises(InputError):
        detect(DetectRequest(paths=inputs, output=kept), Sessions(detector_factory=no_model), Collect())
    assert kept.is_dir() and list(kept.iterdir()) == []


def test_some_readable_are_scored_and_the_others_reported(tmp_path: Path):
    (tmp_path / "a.txt").write_text("machine words " * 5)
    out = tmp_path / "out"
    paths = [str(tmp_path / "a.txt"), str(tmp_path / "missing.md")]
    result = detect(DetectRequest(paths=paths, output=out), Sessions(detector_factory=scripted), Collect())
    assert [d.error is None for d in result.detections] == [True, False]
    [failed] = result.failed
    assert failure_line(failed.source, failed.error or "") == f"{tmp_path / 'missing.md'}: no such file. Check the path."
    assert failure_line("x.txt", "The text is empty") == "x.txt: The text is empty"
    assert (out / "detections.json").exists()


def test_detecting_into_a_run_of_other_settings_warns_naming_them(tmp_path: Path):
    """Records of --max-tokens 200 and 1024 once merged into one detections.json with no word."""
    def with_max(n: int | None):
        def factory() -> AIDetector:
            det = scripted()
            det.max_tokens = n
            return det

        return factory

    out = tmp_path / "out"
    first = [Text("a", "a.txt", "machine words " * 5), Text("b", "b.txt", "human words " * 5)]
    detect(DetectRequest(texts=first, output=out), Sessions(detector_factory=with_max(200)), Collect())
    assert json.loads((out / "detections.json").read_text())[0]["max_tokens"] == 200
    same = Collect()
    detect(DetectRequest(texts=first[:1], output=out), Sessions(detector_factory=with_max(200)), same)
    assert not any("other settings" in w for w in same.warnings)
    rescored = Collect()  # every record there is scored again: nothing of other settings is kept
    detect(DetectRequest(texts=first, output=out), Sessions(detector_factory=with_max(1024)), rescored)
    assert not any("other settings" in w for w in rescored.warnings)
    other = Collect()
    detect(DetectRequest(texts=[Text("c", "c.txt", "human words " * 6)], output=out),
           Sessions(detector_factory=with_max(None)), other)  # fmt: skip
    [warning] = [w for w in other.warnings if "other settings" in w]
    assert f"{out} holds detections scored with other settings (--max-tokens 1024 there, not set now)" in warning
    assert "new -o folder" in warning


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
