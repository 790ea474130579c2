"""Detection without a model: the window rule, the upstream probability mapping (checked against
the released reference file), calibration files and the metrics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cycleresearcher.detect import (
    Calibration,
    build_calibration,
    confidence_level,
    plan_windows,
    window_probability,
)
from cycleresearcher.detect.calibration import packaged_calibrations
from cycleresearcher.errors import InputError
from cycleresearcher.evaluation.detection import detection_metrics, match_label, parse_label
from cycleresearcher.evaluation.loading import load_detection_labels


@given(n=st.integers(0, 3000), window=st.integers(2, 600), data=st.data())
def test_windows_score_every_token_once_with_left_context(n: int, window: int, data):
    overlap = data.draw(st.integers(1, window - 1))
    plans = plan_windows(n, window, overlap)
    scored = [t for w in plans for t in range(w.score_from, w.end)]
    assert scored == list(range(1, n))  # each token once, in order; token 0 never
    for i, w in enumerate(plans):
        assert w.end - w.start <= window and w.start < w.score_from
        if i:
            assert w.score_from - w.start == overlap or w.start == 0
    if n <= window:
        assert len(plans) == (1 if n > 1 else 0)


def test_windows_reject_bad_overlap():
    with pytest.raises(ValueError):
        plan_windows(10, 4, 4)


def test_upstream_mapping_rows(fixtures_dir: Path):
    ref = Calibration.load(fixtures_dir / "detect" / "llama-8B-ref.json")
    expected = json.loads(
        (fixtures_dir / "detect" / "detector_probability_mapping_expected.json").read_text()
    )
    assert len(ref.real) == 100 and len(ref.samples) == 100 and ref.mapping == "window"
    for row in expected["rows"]:
        r = window_probability(row["criterion"], ref.real, ref.samples)
        assert abs(r.offset - row["offset"]) < 1e-6, row
        assert (r.cnt_real, r.cnt_fake) == (row["cnt_real"], row["cnt_fake"]), row
        assert r.probability == pytest.approx(row["probability"], abs=1e-12)
        assert ref.probability(row["criterion"]) == pytest.approx(row["probability"], abs=1e-12)
        assert confidence_level(r.probability) == row["confidence_level"]
        assert (r.probability > 0.5) == row["is_likely_ai_generated"]
    lo, hi = expected["observed_in_tutorial_1"]["implied_criterion_range"]
    assert ref.probability((lo + hi) / 2) == pytest.approx(0.92)


def test_upstream_file_has_no_length_so_no_normalisation(fixtures_dir: Path):
    ref = Calibration.load(fixtures_dir / "detect" / "llama-8B-ref.json")
    assert ref.normalise(2.0, 9000) == 2.0


def test_confidence_labels_boundaries():
    assert confidence_level(0.29) == "Low likelihood of AI generation"
    assert confidence_level(0.3) == "Moderate likelihood of AI generation"
    assert confidence_level(0.5) == "High likelihood of AI generation"
    assert confidence_level(0.7) == "Very high likelihood of AI generation"
    assert "Unavailable" in confidence_level(None)


def test_build_calibration_small_uses_logistic_and_roundtrips(tmp_path: Path):
    real = [-1.0, -0.5, 0.0, 0.2, 0.4]
    fake = [1.5, 2.0, 2.5, 3.0, 0.3]
    cal, why = build_calibration("mine", real, fake, ["m"], 400, {"k": 1}, force=True)
    assert cal.mapping == "logistic" and "logistic" in why
    assert cal.probability(-2.0) < 0.2 < 0.8 < cal.probability(4.0)
    cal.save(tmp_path / "c.json")
    back = Calibration.load(tmp_path / "c.json")
    assert back.probability(1.0) == pytest.approx(cal.probability(1.0))
    assert back.normalise(2.0, 1600) == pytest.approx(1.0)  # sqrt(400/1600) = 0.5
    assert back.matches("m") and not back.matches("other")


def test_build_calibration_large_uses_window():
    real = [i / 100 for i in range(100)]
    fake = [2 + i / 100 for i in range(100)]
    cal, why = build_calibration("big", real, fake, [], None, {})
    assert cal.mapping == "window" and "nearest-window" in why
    assert cal.probability(-5) < 0.1 and cal.probability(10) > 0.9


def test_calibration_errors(tmp_path: Path):
    with pytest.raises(InputError, match="not found"):
        Calibration.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text('{"predictions": {}}')
    with pytest.raises(InputError, match="predictions.real"):
        Calibration.load(tmp_path / "bad.json")
    with pytest.raises(InputError, match="at least 2 human"):
        build_calibration("x", [1.0], [2.0, math.nan], [], None, {})


def test_packaged_calibration_is_for_the_embedded_model():
    cals = packaged_calibrations()
    assert any(c.matches("embedded") for c in cals)
    for c in cals:
        assert len(c.real) >= 20 and len(c.samples) >= 20 and c.n_tokens
        assert c.info.get("built_by") == "scripts/build_calibration.py"
        # the embedded scorer's measured failure on papers travels with the file, in its caveat
        ev = c.info["paper_eval"]
        for name in ("abstracts", "papers"):
            assert f"{ev[name]['auroc_criterion']:.3f} on {name}" in c.info["caveat"]


def test_metrics():
    m = detection_metrics([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9], 0.5)
    assert m["accuracy"] == 0.75 and m["auroc"] == 1.0 and m["f1"] == pytest.approx(0.8)
    m = detection_metrics([0, 1, 1], [0.2, float("nan"), 0.9], 0.5)
    assert m["n"] == 2 and m["n_skipped"] == 1 and m["accuracy"] == 1.0
    assert detection_metrics([1, 1], [0.2, 0.9])["auroc"] is None
    assert [parse_label(x) for x in ("human", "Machine", "0", "1", "AI")] == [0, 1, 0, 1, 1]
    with pytest.raises(InputError):
        parse_label("maybe")


def test_labels_csv(tmp_path: Path):
    f = tmp_path / "labels.csv"
    f.write_text("file,label\npapers/a.pdf,human\nb.txt,machine\n")
    labels = load_detection_labels(f)
    assert labels == {"papers/a.pdf": 0, "b.txt": 1}
    assert match_label(labels, "/x/papers/a.pdf") == 0
    assert match_label(labels, "/y/b.txt") == 1
    assert match_label(labels, "/y/c.txt") is None
    f.write_text("a.pdf,perhaps\n")
    with pytest.raises(InputError, match=r"labels.csv:1"):
        load_detection_labels(f)
