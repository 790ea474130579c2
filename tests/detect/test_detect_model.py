"""Detection with the real embedded SmolLM2-135M: our criterion against a naive implementation
of the published formula, the window rule on real logits, llama.cpp vs transformers, the API, the
CLI and bad input. Texts are kept short (a few hundred tokens) for 2-core CI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.detect import AIDetector, plan_windows, token_stats
from cycleresearcher.errors import InputError
from support.naive_detector import naive_criterion

pytestmark = pytest.mark.slow
DETECT = Path(__file__).parents[1] / "data" / "detect"
TEXTS = sorted((DETECT / "human").glob("*.txt")) + sorted((DETECT / "machine").glob("*.txt"))


@pytest.fixture(scope="module")
def detector(embedded_hf_dir: str) -> AIDetector:
    return AIDetector(embedded_hf_dir, device="cpu", calibration="none")


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_one_pass_equals_naive_two_pass_formula(detector: AIDetector, path: Path):
    text = path.read_text()
    ids = detector.scorer.tokenize(text)
    ours = detector.detect_text(text)
    naive = naive_criterion(detector.scorer.model, detector.scorer.model, ids)
    assert ours.n_windows == 1 and ours.n_tokens == len(ids) - 1
    assert abs(ours.criterion - naive) < 1e-4, (ours.criterion, naive)


def test_windows_accumulate_each_token_once(detector: AIDetector):
    import torch

    text = (DETECT / "human" / "orchard.txt").read_text()
    ids = detector.scorer.tokenize(text)
    small = AIDetector.__new__(AIDetector)
    small.__dict__.update(detector.__dict__, window=48, overlap=16)
    stats, n_windows, _ = small.score_text(text)
    # the same windows, scored independently with the naive per-window logits
    ll = mu = var = 0.0
    plans = plan_windows(len(ids), 48, 16)
    for w in plans:
        x = torch.tensor([ids[w.start : w.end]])
        with torch.no_grad():
            logits = detector.scorer.model(input_ids=x).logits[0]
        a = w.score_from - w.start
        s = token_stats(logits[a - 1 : -1], x[0, a:])
        ll, mu, var = ll + s.ll, mu + s.mu, var + s.var
    assert n_windows == len(plans) >= 3
    assert stats.n == len(ids) - 1
    assert stats.criterion == pytest.approx((ll - mu) / math.sqrt(var), abs=1e-6)
    # less left context than one pass gives, so a different (but close) value
    assert stats.criterion != pytest.approx(detector.detect_text(text).criterion, abs=1e-6)


def test_max_tokens_truncates_like_upstream(detector: AIDetector, embedded_hf_dir: str):
    text = (DETECT / "machine" / "gardens.txt").read_text()
    capped = AIDetector.__new__(AIDetector)
    capped.__dict__.update(detector.__dict__, max_tokens=40)
    det = capped.detect_text(text)
    ids = detector.scorer.tokenize(text)[:40]
    assert det.truncated and det.n_tokens == 39
    assert det.criterion == pytest.approx(
        naive_criterion(detector.scorer.model, detector.scorer.model, ids), abs=1e-4
    )


def test_machine_text_scores_above_human_text(detector: AIDetector):
    dets = detector.detect_batch([p.read_text() for p in TEXTS], [p.name for p in TEXTS])
    human = [d.criterion for d in dets[:2]]
    machine = [d.criterion for d in dets[2:]]
    assert min(machine) > max(human)


def test_bad_input_is_explained_and_batch_continues(detector: AIDetector):
    with pytest.raises(InputError, match="empty"):
        detector.detect_text("   ")
    with pytest.raises(InputError, match="scorable tokens.*at least 32"):
        detector.detect_text("Too short to score.")
    dets = detector.detect_batch(
        ["", "short", (DETECT / "human" / "harbour.txt").read_text()]
    )
    assert [d.error is not None for d in dets] == [True, True, False]
    assert math.isnan(dets[0].criterion) and dets[0].to_dict()["criterion"] is None
    assert not math.isnan(dets[2].criterion)


def test_analyze_paper_original_api(detector: AIDetector, embedded_hf_dir: str):
    paper = {
        "title": "Gardens",
        "abstract": "A study.",
        "latex": (DETECT / "machine" / "gardens.txt").read_text(),
    }
    out = detector.analyze_paper(paper)
    assert set(out) >= {"criterion", "probability", "is_likely_ai_generated", "confidence_level", "detection"}
    assert out["probability"] is None and "Unavailable" in out["confidence_level"]
    assert out["detection"].notes and "calibrate" in out["detection"].notes[0]
    calibrated = AIDetector(embedded_hf_dir, device="cpu", calibration=None)  # hf dir: no packaged match
    assert calibrated.calibration is None


def test_llamacpp_runtime_vs_transformers(detector: AIDetector, embedded_gguf: str):
    pytest.importorskip("llama_cpp")
    fast = AIDetector(embedded_gguf, device="cpu", calibration="none", runtime="llama.cpp")
    text = (DETECT / "human" / "orchard.txt").read_text()
    a, b = fast.detect_text(text), detector.detect_text(text)
    assert a.runtime == "llama.cpp" and a.n_tokens == b.n_tokens
    # quantized matmuls: close, but not always within 0.02 -- which is why it is opt-in
    assert abs(a.criterion - b.criterion) < 0.25


def test_default_detector_is_transformers_and_calibrated():
    det = AIDetector(device="cpu")
    assert det.scorer.runtime == "transformers"
    assert det.calibration is not None and det.calibration.matches("embedded")
    d = det.detect_text((DETECT / "machine" / "trains.txt").read_text())
    assert 0.0 <= d.probability <= 1.0 and d.calibration == det.calibration.name
    # the packaged calibration is general prose: every result says it is not valid for papers
    assert any("does not separate papers written by large models" in note for note in d.notes)


def test_cli_json_labels_and_calibrate(tmp_path: Path, embedded_hf_dir: str):
    runner = CliRunner()
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    files = [str(p) for p in TEXTS] + [str(empty)]
    r = runner.invoke(
        app, ["detect", *files, "--json", "--scoring-model", embedded_hf_dir, "--calibration", "none"]
    )
    assert r.exit_code == 3, r.output  # one bad file: reported, the others scored
    rows = json.loads(r.stdout)
    assert len(rows) == 5 and rows[-1]["error"] and "no text" in rows[-1]["error"]
    assert all(row["probability"] is None and row["n_tokens"] > 32 for row in rows[:4])

    cal = tmp_path / "mine.json"
    r = runner.invoke(
        app,
        [
            "detect",
            "calibrate",
            "--human",
            str(DETECT / "human"),
            "--machine",
            str(DETECT / "machine"),
            "-o",
            str(cal),
            "--scoring-model",
            embedded_hf_dir,
            "--force",  # 2 + 2 texts: far below the minimum, so said loudly
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Mapping: logistic" in r.output and "WARNING: --force with 2 human and 2 machine texts" in r.output
    assert "Held-out (2-fold cross-validation, 4 texts): accuracy" in r.output
    written = json.loads(cal.read_text())
    assert written["mapping"] == "logistic" and written["domain"] == "papers"
    assert written["info"]["cross_validation"]["n"] == 4 and "below_minimum" in written["info"]

    labels = tmp_path / "labels.csv"
    labels.write_text("file,label\n" + "".join(f"{p.name},{p.parent.name}\n" for p in TEXTS))
    r = runner.invoke(
        app,
        [
            "detect",
            *map(str, TEXTS),
            "--scoring-model",
            embedded_hf_dir,
            "--calibration",
            str(cal),
            "--labels",
            str(labels),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "accuracy 100.00%" in r.output and "AUROC 1.0000" in r.output
