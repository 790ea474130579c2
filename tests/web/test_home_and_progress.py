"""The home page names the configured model; a job's bar moves with the tokens of a one-paper
job; detection reports scored tokens and a time left (the web job page and the CLI's line)."""

from __future__ import annotations

import io
import time
from pathlib import Path

from fastapi.testclient import TestClient

from cycleresearcher.app.jobs import JobContext, JobReporter, JobRunner
from cycleresearcher.detect.api import AIDetector
from cycleresearcher.detect.criterion import Stats
from cycleresearcher.engines.base import TokenProgress
from cycleresearcher.progress import LogReporter, reporting
from cycleresearcher.store import RunStore
from cycleresearcher.web.app import create_app

BASE = "http://127.0.0.1"


def home(tmp_path: Path, **kw) -> str:
    return TestClient(create_app(tmp_path / "runs", **kw), base_url=BASE).get("/").text


def test_home_page_names_the_configured_model(tmp_path):
    assert "embedded SmolLM2-135M stand-in" in home(tmp_path)
    page = home(tmp_path, model="Qwen/Qwen2.5-7B-Instruct")
    assert "Qwen/Qwen2.5-7B-Instruct" in page.split('data-testid="default-model"')[1].split("</p>")[0]
    assert "SmolLM2" not in page.split('data-testid="default-model"')[1].split("</p>")[0]
    served = home(tmp_path, base_url="http://127.0.0.1:9")
    assert "--base-url server serves for each task" in served


def test_a_one_paper_job_bar_moves_with_its_tokens(tmp_path):
    runner = JobRunner(tmp_path / "runs")
    try:
        job = runner.submit("generate", "r1", lambda ctx: None)
        runner.wait(job.id)
        job.done, job.total, job.percent = 0, 1, 0.0  # one paper, not done yet
        now = [0.0]
        reporter = JobReporter(JobContext(runner, job), clock=lambda: now[0])
        reporter.begin("generate", [1000])
        now[0] = 10.0
        reporter.update(TokenProgress(0, None, 500, 1000, 10.0))
        assert job.done == 0 and 40.0 <= job.to_dict()["percent"] <= 60.0
    finally:
        runner.shutdown()


class StubScorer:
    """Counts words as tokens; each window costs a little time (the clock must move)."""

    runtime, context_length = "stub", 64

    def tokenize(self, text):
        return list(range(len(text.split())))

    def window_stats(self, ids, w):
        time.sleep(0.01)
        n = w.end - w.score_from
        return Stats(ll=-1.0 * n, mu=-2.0 * n, var=1.0 * n, n=n)


def stub_detector() -> AIDetector:
    det = AIDetector.__new__(AIDetector)
    det.scorer, det.window, det.overlap = StubScorer(), 64, 16
    det.max_tokens, det.min_tokens, det.calibration = None, 32, None
    det.scoring_model = det.reference_model = "stub"
    return det


def test_detect_batch_writes_a_progress_line_with_an_eta():
    stream = io.StringIO()
    text = "word " * 600
    with reporting(LogReporter(stream, interval=0.0, heartbeat=False)):
        dets = stub_detector().detect_batch([text, text], ["a", "b"])
    assert all(d.n_tokens > 500 for d in dets)
    lines = [line for line in stream.getvalue().splitlines() if line.startswith("progress detect:")]
    assert any("ETA" in line and "ETA --" not in line and "0/2" in line for line in lines), lines
    assert "2/2 requests, 1200 tokens" in lines[-1], lines


def test_web_detect_job_shows_tokens_and_time_left(tmp_path):
    app = create_app(tmp_path / "runs", detector_factory=stub_detector)
    with RunStore(tmp_path / "runs" / "r1") as store:
        store.put("paper", "p1", {"title": "T", "latex": "word " * 600})
    client = TestClient(app, base_url=BASE, headers={"X-CSRF-Token": app.state.csrf_token})
    r = client.post("/runs/r1/papers/p1/detect", follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    job_id = r.headers["location"].rsplit("/", 1)[1]
    job = app.state.runner.wait(job_id, timeout=60)
    assert job.state == "done", job.error
    data = client.get(f"/api/jobs/{job_id}").json()
    assert data["tokens"] >= 600 and data["tok_s"] and data["eta_text"] == "0s" and data["percent"] == 100.0
