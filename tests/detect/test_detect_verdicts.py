"""No verdict the detector cannot back: the paper rule, calibration domains, `detect calibrate`'s
minimum and cross-validation, and what the CLI, the Python API and the web page say.

Fast tests use the real AIDetector logic with a scripted score (no model); the slow ones run the
real embedded scorer with its packaged calibration."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.detect import (
    MIN_PER_CLASS,
    PAPER_TOKENS,
    AIDetector,
    Calibration,
    Stats,
    build_calibration,
    cross_validate,
)
from cycleresearcher.detect.calibration import NOT_FOR_PAPERS, packaged_calibrations
from cycleresearcher.errors import InputError
from cycleresearcher.evaluation.detection import detection_row

DETECT = Path(__file__).parents[1] / "data" / "detect"
WEB = Path(__file__).parents[1] / "data" / "web"
STATEMENT = "This scorer gives no reliable probability for papers"


def embedded_calibration() -> Calibration:
    [cal] = [c for c in packaged_calibrations() if c.matches("embedded")]
    return cal


class ScriptedDetector(AIDetector):
    """AIDetector whose score is scripted (criterion ``criterion``, one token per word): the
    verdict logic after scoring is the real one."""

    def __init__(self, calibration: Calibration | None, criterion: float = 1.0):
        self.scoring_model = self.reference_model = "embedded"
        self.scorer = SimpleNamespace(runtime="scripted", tokenize=str.split)
        self.max_tokens, self.window = None, 2048
        self.calibration = calibration
        self.criterion = criterion

    def score_text(self, text: str) -> tuple[Stats, int, bool]:
        return Stats(ll=self.criterion, mu=0.0, var=1.0, n=len(text.split())), 1, False


def words(n: int) -> str:
    return " ".join(["word"] * n)


def separable(n: int) -> tuple[list[float], list[float]]:
    return [-2 + i / n for i in range(n)], [2 + i / n for i in range(n)]


# -- the paper rule with the packaged (short-prose) calibration ----------------------------------


def test_packaged_calibration_is_short_prose_with_its_own_cross_validation():
    cal = embedded_calibration()
    assert cal.domain == "short-prose" and not cal.valid_for_papers
    cv = cal.info["cross_validation"]
    assert cv["folds"] == 5 and cv["n"] == len(cal.real) + len(cal.samples)
    assert 0.0 <= cv["accuracy"] <= 1.0


def test_short_text_keeps_its_probability_and_caveat():
    det = ScriptedDetector(embedded_calibration()).detect_text(words(PAPER_TOKENS - 1))
    assert not det.paper and det.probability_withheld is None
    assert det.probability is not None and 0.0 < det.probability < 1.0
    assert det.is_likely_ai_generated == (det.probability > 0.5)
    assert any("does not separate papers" in n for n in det.notes)


@pytest.mark.parametrize(("n", "paper"), [(PAPER_TOKENS, False), (40, True)])
def test_paper_length_text_gets_criterion_only(n: int, paper: bool):
    det = ScriptedDetector(embedded_calibration(), criterion=1.5).detect_text(words(n), paper=paper)
    assert det.paper and det.criterion == pytest.approx(1.5)
    assert det.probability is None and det.is_likely_ai_generated is None
    assert det.calibrated_criterion is None and det.confidence_level == NOT_FOR_PAPERS
    assert det.calibration == "smollm2-135m"
    assert det.probability_withheld.startswith(STATEMENT)
    assert "0.403 on abstracts" in det.probability_withheld and "0.5 is chance" in det.probability_withheld
    assert "--calibration FILE" in det.probability_withheld
    # the web page shows this too, and takes no calibration: the advice names the command line
    assert "needs the command line" in det.probability_withheld and "For a probability pass" not in det.probability_withheld
    why = "a paper (" if paper else f"{n} tokens >= {PAPER_TOKENS}"
    assert any(note.startswith("paper-length: ") and why in note for note in det.notes), det.notes
    d = det.to_dict()
    assert d["probability"] is None and d["is_likely_ai_generated"] is None and d["paper"] is True


def test_analyze_paper_dict_is_a_paper_string_goes_by_length():
    detector = ScriptedDetector(embedded_calibration())
    out = detector.analyze_paper({"title": "T", "abstract": words(30), "latex": words(30)})
    assert out["probability"] is None and out["is_likely_ai_generated"] is None
    assert out["confidence_level"] == NOT_FOR_PAPERS and out["criterion"] == pytest.approx(1.0)
    assert out["detection"].probability_withheld.startswith(STATEMENT)
    short = detector.analyze_paper(words(60))
    assert short["probability"] is not None and 0.0 < short["probability"] < 1.0


@pytest.mark.parametrize("domain", ["papers", None])
def test_a_papers_calibration_gives_probabilities_on_papers(tmp_path: Path, domain: str | None):
    real, fake = separable(MIN_PER_CLASS)
    cal, _ = build_calibration("mine", real, fake, ["embedded"], None, {}, domain=domain)
    cal.save(tmp_path / "c.json")
    back = Calibration.load(tmp_path / "c.json")
    assert back.domain == domain and back.valid_for_papers
    det = ScriptedDetector(back, criterion=3.0).detect_text(words(2000), paper=True)
    assert det.paper and det.probability_withheld is None
    assert det.probability > 0.9 and det.is_likely_ai_generated is True


def test_batch_carries_the_paper_flags():
    detector = ScriptedDetector(embedded_calibration())
    dets = detector.detect_batch(
        [words(50), words(50)], ["a.txt", "b.tex"], papers=[False, True]
    )
    assert [d.probability is None for d in dets] == [False, True]


def test_evaluate_detection_falls_back_to_the_criterion():
    detector = ScriptedDetector(embedded_calibration())
    results = {}
    for i, (crit, label) in enumerate([(-1.0, "human"), (0.5, "human"), (1.0, "machine"), (2.0, "machine")]):
        detector.criterion = crit
        results[f"p{i}"] = {**detector.detect_text(words(40), paper=True).to_dict(), "label": label}
    with pytest.raises(InputError, match="--threshold"):
        detection_row("withheld", results)
    row = detection_row("withheld", results, threshold=0.75)
    assert (row.score, row.papers, row.accuracy, row.auroc) == ("criterion", 4, 1.0, 1.0)


# -- calibrate: minimum per class and held-out figures ------------------------------------------


def test_build_calibration_refuses_below_the_minimum_unless_forced():
    real, fake = separable(MIN_PER_CLASS - 1)
    with pytest.raises(InputError, match=f"at least {MIN_PER_CLASS} of each.*--force"):
        build_calibration("few", real, fake, [], None, {})
    cal, _ = build_calibration("few", real, fake, [], None, {}, force=True)
    assert "fewer than 20" in cal.info["below_minimum"]
    cal, _ = build_calibration("enough", *separable(MIN_PER_CLASS), [], None, {})
    assert "below_minimum" not in cal.info and cal.domain == "papers"


def test_cross_validation_measures_the_held_out_folds():
    good = cross_validate(*separable(30))
    assert (good["folds"], good["n"], good["accuracy"], good["auroc"]) == (5, 60, 1.0, 1.0)
    # the classes interleave: each held-out fold is predicted no better than a coin
    real = [float(i) for i in range(0, 60, 2)]
    fake = [float(i) for i in range(1, 60, 2)]
    mixed = cross_validate(real, fake)
    assert mixed["n"] == 60 and mixed["accuracy"] < 0.7
    # and the figure is stored in the calibration built from those criteria
    cal, _ = build_calibration("mixed", real, fake, [], None, {})
    assert cal.info["cross_validation"] == mixed
    few = cross_validate([0.0, 1.0, 2.0], [5.0, 6.0, 7.0])
    assert few["folds"] == 3 and few["accuracy"] == 1.0


def test_cli_calibrate_refuses_five_texts_before_loading_a_model(tmp_path: Path):
    for name in ("human", "machine"):
        (tmp_path / name).mkdir()
        for i in range(5):
            (tmp_path / name / f"{i}.txt").write_text(f"Text number {i} of the {name} set. " * 10)
    r = CliRunner().invoke(
        app,
        ["detect", "calibrate", "--human", str(tmp_path / "human"), "--machine", str(tmp_path / "machine"),
         "-o", str(tmp_path / "c.json"), "--scoring-model", str(tmp_path / "no-such-model")],
    )  # fmt: skip
    assert r.exit_code != 0 and not (tmp_path / "c.json").exists()
    assert "5 human and 5 machine texts found" in r.output and "--force" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


# -- the web page ---------------------------------------------------------------------------------


def _web_detection(tmp_path: Path, calibration: Calibration | None) -> str:
    from cycleresearcher.web.app import create_app
    from support.fake_engine import FakeEngine

    def engines(choice, family):
        return FakeEngine(
            lambda req, k: (WEB / ("turn5.txt" if len(req.messages) > 2 else "generation.txt")).read_text(),
            context_length=8192,
        )

    application = create_app(
        tmp_path / "runs",
        engine_factory=engines,
        detector_factory=lambda: ScriptedDetector(calibration, 1.25),
    )
    headers = {"X-CSRF-Token": application.state.csrf_token}  # a script: no Origin, so the token
    with TestClient(
        application, base_url="http://127.0.0.1", raise_server_exceptions=False, headers=headers
    ) as client:

        def wait(response) -> dict:
            assert response.status_code == 303, response.text[:500]
            job_id = response.headers["location"].rsplit("/", 1)[1]
            client.app.state.runner.wait(job_id, timeout=60)
            return client.get(f"/api/jobs/{job_id}").json()

        files = {"bib": ("refs.bib", (WEB / "refs.bib").read_bytes(), "application/x-bibtex")}
        job = wait(
            client.post("/generate", data={"n": "1", "max_tokens": "64"}, files=files, follow_redirects=False)
        )
        assert job["state"] == "done", job
        run, pid = job["run"], job["result_url"].rsplit("/", 1)[1]
        det = wait(client.post(f"/runs/{run}/papers/{pid}/detect", follow_redirects=False))
        assert det["state"] == "done", det
        page = client.get(f"/runs/{run}/papers/{pid}").text
        listing = client.get(f"/runs/{run}").text
    return page + "\n<!-- run page -->\n" + listing


def test_web_page_shows_criterion_and_statement_for_a_paper(tmp_path: Path):
    html = _web_detection(tmp_path, embedded_calibration())
    page, listing = html.split("<!-- run page -->")
    assert "Probability machine-written" not in page and 'data-testid="detection-probability"' not in page
    assert 'data-testid="detection-criterion"' in page and "<strong>1.25</strong>" in page
    assert STATEMENT in page and NOT_FOR_PAPERS in page
    assert page.count(STATEMENT) == 1  # the statement, not repeated among the grey notes
    assert "criterion 1.25" in listing and "uncalibrated" not in listing


def test_web_page_shows_a_probability_a_papers_calibration_backs(tmp_path: Path):
    cal, _ = build_calibration("mine", *separable(MIN_PER_CLASS), ["embedded"], None, {})
    page, _ = _web_detection(tmp_path, cal).split("<!-- run page -->")
    p = cal.probability(1.25)
    assert 'data-testid="detection-probability"' in page and f"{100 * p:.1f}%" in page
    assert STATEMENT not in page


# -- the real embedded scorer ---------------------------------------------------------------------


@pytest.mark.slow
def test_real_scorer_withholds_on_papers_and_cli_says_so(tmp_path: Path):
    detector = AIDetector(device="cpu")
    paper = {
        "title": "Gardens",
        "abstract": (DETECT / "machine" / "trains.txt").read_text(),
        "latex": (DETECT / "machine" / "gardens.txt").read_text(),
    }
    out = detector.analyze_paper(paper)
    assert out["probability"] is None and out["is_likely_ai_generated"] is None
    assert math.isfinite(out["criterion"]) and out["confidence_level"] == NOT_FOR_PAPERS
    assert out["detection"].probability_withheld.startswith(STATEMENT)

    tex = tmp_path / "paper.tex"
    tex.write_text(
        "\\documentclass{article}\\begin{document}\\section{Intro}\n"
        + (DETECT / "human" / "orchard.txt").read_text()
        + "\n\\end{document}\n"
    )
    txt = DETECT / "machine" / "trains.txt"
    runner = CliRunner()
    r = runner.invoke(app, ["detect", str(tex), str(txt), "--json"])
    rows = json.loads(r.stdout)
    assert [row["probability"] is None for row in rows] == [True, False], rows
    assert rows[0]["paper"] is True and rows[0]["is_likely_ai_generated"] is None
    assert rows[0]["probability_withheld"].startswith(STATEMENT)
    r = runner.invoke(app, ["detect", str(tex)])
    assert "none (paper)" in r.output and "Low likelihood" not in r.output
    assert "No probability for 1 of 1 text(s): paper-length." in r.output and STATEMENT in r.output
