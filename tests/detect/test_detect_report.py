"""`detect -o DIR`: one record per paper (path, title, criterion, probability, verdict or "no
verdict" with its reason, calibration) in the run store, detections.json and detections.md, in
the shape `evaluate detection` reads."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.detect import Detection
from cycleresearcher.detect.report import NO_VERDICT, detection_record, write_detections
from cycleresearcher.evaluation.detection import detection_row
from cycleresearcher.evaluation.loading import load_detections

DETECT = Path(__file__).parents[1] / "data" / "detect"


def _det(source: str, criterion: float, probability: float | None, **kw) -> Detection:
    likely = None if probability is None else probability > 0.5
    return Detection(criterion, probability, likely, "x", 100, source=source, calibration="cal", **kw)


def test_records_carry_verdicts_and_reasons_and_evaluate_reads_them(tmp_path: Path):
    dets = [
        _det("h.txt", -2.0, 0.1),
        _det("m.txt", 3.0, 0.9),
        _det("p.tex", 2.5, None, probability_withheld="This scorer gives no reliable probability for papers"),
        _det("bad.pdf", math.nan, None, error="bad.pdf: no text layer"),
    ]
    ids = ["h-1", "m-2", "p-3", "bad-4"]
    records = [detection_record(d, pid, f"Title {i}") for i, (d, pid) in enumerate(zip(dets, ids, strict=True))]
    assert [r["verdict"] for r in records] == ["human", "machine", NO_VERDICT, NO_VERDICT]
    assert records[2]["verdict_reason"].startswith("This scorer") and "no text layer" in records[3]["verdict_reason"]
    assert records[0]["paper_id"] == "h-1" and records[0]["path"] == "h.txt"
    assert records[0]["title"] == "Title 0" and records[0]["calibration"] == "cal"
    write_detections(tmp_path / "run", records)

    saved = json.loads((tmp_path / "run" / "detections.json").read_text())
    assert saved == records and saved[3]["criterion"] is None  # no NaN in JSON
    md = (tmp_path / "run" / "detections.md").read_text()
    assert "| h.txt | Title 0 | -2.000 | 10.00% | human | cal |" in md
    assert "no verdict (1)" in md and "(2) bad.pdf: no text layer" in md

    copied = tmp_path / "copied"  # detect -o's files copied without the run store
    copied.mkdir()
    (copied / "detections.json").write_bytes((tmp_path / "run" / "detections.json").read_bytes())
    for source in (tmp_path / "run", tmp_path / "run" / "detections.json", copied):
        loaded = load_detections(source)
        assert set(loaded) == set(ids)  # keyed by the paper's id; the labels name files
        row = detection_row(str(source), loaded, {"h.txt": 0, "m.txt": 1}, threshold=0.0, score="criterion")
        assert (row.papers, row.accuracy, row.auroc) == (2, 1.0, 1.0)


def test_records_of_older_versions_are_read_in_todays_shape(tmp_path: Path):
    from cycleresearcher.store import RunStore

    run = tmp_path / "run"
    with RunStore(run) as store:
        store.set_meta("command", "web detect-upload")
        # the CLI's, keyed by path with no paper_id; the web's, keyed by id with no path or verdict
        store.put("detection", "old/h.txt", {**_det("old/h.txt", -2.0, 0.1).to_dict(), "path": "old/h.txt",
                                               "title": "Old", "verdict": "human", "verdict_reason": ""})
        store.put("detection", "w-1", {"paper_id": "w-1", **_det("w-1", 3.0, 0.9).to_dict()})
    write_detections(run, [detection_record(_det("new.txt", 1.0, None), "n-1")])
    saved = json.loads((run / "detections.json").read_text())
    assert [(r["paper_id"], r["path"], r["verdict"]) for r in saved] == [
        ("old/h.txt", "old/h.txt", "human"), ("w-1", "w-1", "machine"), ("n-1", "new.txt", NO_VERDICT)
    ]
    assert all(set(r) == set(saved[-1]) for r in saved)  # one shape
    with RunStore(run, create=False) as store:
        assert store.get_meta("command") == "web detect-upload"  # the run's own command is kept
    row = detection_row(str(run), load_detections(run), {"h.txt": 0, "w-1": 1}, threshold=0.0, score="criterion")
    assert row.papers == 2


def test_detect_o_refuses_a_file_before_loading_a_model(tmp_path: Path):
    (tmp_path / "taken").write_text("x")
    r = CliRunner().invoke(
        app, ["detect", str(DETECT / "human"), "-o", str(tmp_path / "taken"), "--scoring-model", "no/such-model"]
    )
    assert r.exit_code != 0 and "is a file, not a folder" in r.output


def test_detect_of_nothing_readable_exits_2_and_leaves_no_folder(tmp_path: Path, monkeypatch):
    """Was exit 3 with a run store and detections of one "Not scored" record, and the path twice:
    `nonexist.pdf: nonexist.pdf: no such file.`"""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    r = CliRunner().invoke(app, ["detect", "nonexist.pdf", "-o", "runs/x"])
    assert r.exit_code == 2, r.output
    assert r.output.strip() == "Error: nonexist.pdf: no such file. Check the path."
    (tmp_path / "nopapers").mkdir()
    r = CliRunner().invoke(app, ["detect", "nopapers", "-o", "runs/y"])
    assert r.exit_code == 2 and "No papers found in nopapers" in r.output, r.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_detect_o_then_evaluate_detection(tmp_path: Path):
    runner = CliRunner()
    run = tmp_path / "det"
    r = runner.invoke(app, ["detect", str(DETECT / "human"), str(DETECT / "machine"), "-o", str(run)])
    assert r.exit_code == 0, r.output
    records = json.loads((run / "detections.json").read_text())
    assert len(records) == 4 and {r["verdict"] for r in records} <= {"human", "machine"}
    assert [Path(r["path"]).name for r in records] == ["harbour.txt", "orchard.txt", "gardens.txt", "trains.txt"]
    assert all(r["paper_id"].startswith(Path(r["path"]).stem + "-") for r in records)
    assert all(r["calibration"] and r["probability"] is not None for r in records)
    assert records[0]["title"].startswith("The ferry to the island")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label\nharbour.txt,human\norchard.txt,human\ngardens.txt,machine\ntrains.txt,machine\n")
    r = runner.invoke(app, ["evaluate", "detection", str(run), "--labels", str(labels), "-o", str(tmp_path / "ev")])
    assert r.exit_code == 0, r.output
    table = (tmp_path / "ev" / "detection.csv").read_text().splitlines()
    assert len(table) == 2 and ",probability," in table[1] and ",4,2,2," in table[1], table
