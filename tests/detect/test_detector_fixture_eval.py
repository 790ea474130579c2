"""scripts/detector_fixture_eval.py: the labelled paper-domain sets it builds from the fixtures,
and the caveat it writes into a calibration file from measured figures (no model needed)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location(
        "detector_fixture_eval", ROOT / "scripts" / "detector_fixture_eval.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sets_from_fixtures(script, fixtures_dir: Path):
    sets = script.load_sets(fixtures_dir, n_human_abstracts=50)
    abstracts, papers = sets["abstracts"], sets["papers"]
    assert sum(y for _, _, y in abstracts) == 10  # the tutorial's generated abstracts
    assert sum(1 - y for _, _, y in abstracts) == 50
    assert all(len(text) >= 400 for _, text, y in abstracts if y == 0)
    assert len({text[:80] for _, text, _ in abstracts}) == len(abstracts)  # no duplicates
    assert sorted(y for _, _, y in papers) == [0] * 8 + [1] * 4
    assert all(len(text) > 5_000 for _, text, _ in papers)
    # PDF-extracted generated papers go through the shared cleaner (their watermark is removed)
    generated = [text for sid, text, _ in papers if sid.startswith("generated_paper_")]
    assert len(generated) == 3


def test_update_calibration_writes_measured_caveat(script, tmp_path: Path):
    cal = tmp_path / "cal.json"
    cal.write_text(
        json.dumps({"name": "x", "info": {"seed": 1}, "predictions": {"real": [0.0], "samples": [1.0]}})
    )

    def res(n_h: int, n_m: int, auroc: float) -> dict:
        m = {"n_human": n_h, "n_machine": n_m, "auroc": auroc, "accuracy": 0.5, "f1": 0.0}
        return {"criterion": m, "probability": m}

    report = {"max_tokens": 2048, "sets": {"abstracts": res(120, 10, 0.4031), "papers": res(8, 4, 0.625)}}
    script.update_calibration(cal, report)
    info = json.loads(cal.read_text())["info"]
    assert info["seed"] == 1
    assert info["paper_eval"]["abstracts"]["auroc_criterion"] == 0.403
    assert "AUROC 0.40 on abstracts (10 by CycleResearcher-12B vs 120 human)" in info["caveat"]
    assert "0.62 on papers (4 vs 8, first 2,048 tokens)" in info["caveat"]
