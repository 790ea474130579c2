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
    assert "AUROC 0.403 on abstracts (10 by CycleResearcher-12B vs 120 human)" in info["caveat"]
    # 0.625 as measured: two decimals printed it 0.62 (round half to even) where the docs said 0.63
    assert "0.625 on papers (4 vs 8, first 2,048 tokens)" in info["caveat"]


def test_the_docs_quote_the_measured_auroc():
    """README.md, docs/detection.md, the packaged calibration's caveat and the statement `detect`
    prints all give the figures of benchmarks/results/detector_fixture_eval.json."""
    from cycleresearcher.detect import Calibration
    from cycleresearcher.detect.api import withheld_statement

    measured = json.loads((ROOT / "benchmarks" / "results" / "detector_fixture_eval.json").read_text())
    abstracts, papers = (f"{measured['sets'][k]['criterion']['auroc']:.3f}" for k in ("abstracts", "papers"))
    cal = Calibration.load(ROOT / "src" / "cycleresearcher" / "data" / "calibration" / "smollm2-135m.json")
    readme = " ".join((ROOT / "README.md").read_text().split())
    doc = " ".join((ROOT / "docs" / "detection.md").read_text().split())
    assert f"AUROC {abstracts} on abstracts, {papers} on papers" in readme
    assert f"**{abstracts}** on abstracts" in doc and f"**{papers}** on papers" in doc
    statement = withheld_statement(cal, "m")
    assert f"measured AUROC {abstracts} on abstracts, {papers} on papers" in statement
    assert f"measured AUROC {abstracts} on abstracts, {papers} on papers" in doc  # the statement quoted
    assert f"AUROC {abstracts} on abstracts" in cal.info["caveat"] and f"{papers} on papers" in cal.info["caveat"]
