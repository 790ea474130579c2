"""The web page in a real headless Chromium, served by `cycleresearcher serve --base-url` against the
replay server: a real 12B paper, its CycleReviewer review and a DeepReviewer Standard review of an
uploaded paper. Screenshots go to test-artifacts/replay/ (each under 300 KB) on every run; git
ignores them because they show text of the fixtures (non-commercial licence, see
shared/fixtures/README.md), which is never committed. Uses the
system Chromium (/usr/bin/chromium); no browser is ever downloaded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from support.replay import (
    CYCLEREVIEWER,
    DEEPREVIEWER,
    RESEARCHER,
    conversation,
    fenced,
    references_file,
    title_of,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "replay"
CHROMIUM = os.environ.get("CYCLERESEARCHER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
MAX_PNG = 300_000
REVIEWED_TITLE = "Completing Visual Objects via Bridging Generation and Segmentation"


@pytest.fixture
def web(replay, tmp_path):
    from conftest import free_port

    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    cmd = [sys.executable, "-m", "cycleresearcher", "serve", "--port", str(port),
           "--runs-dir", str(tmp_path / "runs"), "--base-url", replay.url]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"the server did not start: {(tmp_path / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def shot(page, name: str) -> Path:
    path = ARTIFACTS / name
    page.screenshot(path=str(path))  # the viewport: the part a reader sees first, a small PNG
    return path


def test_replayed_paper_and_reviews_in_chromium(web, replay, fixtures_dir, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file() and shutil.which("chromium") is None:
        pytest.skip("no system chromium (set CYCLERESEARCHER_CHROMIUM)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    title = title_of(fenced(conversation(fixtures_dir, 1)[2]["content"], "latex"))
    shots = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        try:
            page.goto(web)
            page.set_input_files("#bib-input", str(references_file(fixtures_dir, 1, tmp_path)))
            page.fill("#generate-form input[name=model]", RESEARCHER)
            page.uncheck("#generate-form input[name=pdf]")
            page.click("#generate-button")
            page.wait_for_url("**/papers/*", timeout=60_000)
            assert page.get_by_test_id("paper-title").inner_text() == title
            assert page.get_by_test_id("simulated-banner").is_visible()
            shots.append(shot(page, "paper.png"))
            results = page.locator("h2", has_text="Experiment results")
            results.evaluate("el => el.scrollIntoView({block: 'start'})")
            assert page.locator("table.data", has_text="CofiPara").count() >= 1
            shots.append(shot(page, "paper_results.png"))

            page.select_option("#review select[name=reviewer]", "cyclereviewer")
            page.fill("#review input[name=model]", CYCLEREVIEWER)
            page.click("#review-button")
            page.wait_for_url("**/reviews/*", timeout=60_000)
            assert page.get_by_test_id("decision").inner_text() == "Accept"
            assert (
                "rating avg 6.75 / min 3 / max 10 over 4 reviewer(s)"
                in page.get_by_test_id("review").inner_text()
            )
            shots.append(shot(page, "review_cyclereviewer.png"))

            page.goto(web)
            page.set_input_files("#paper-input", str(fixtures_dir / "detect" / "human_paper_001.txt"))
            page.select_option("#upload-review-form select[name=reviewer]", "deepreviewer")
            page.select_option("#upload-review-form select[name=review_mode]", "standard")
            page.fill("#upload-review-form input[name=model]", DEEPREVIEWER)
            page.click("#upload-review-button")
            page.wait_for_url("**/reviews/*", timeout=60_000)
            assert page.get_by_test_id("decision").inner_text() == "Accept"
            assert page.locator("h1").inner_text() == "Review: " + REVIEWED_TITLE
            assert (
                "rating avg 5.75 / min 5 / max 6 over 4 reviewer(s)"
                in page.get_by_test_id("review").inner_text()
            )
            shots.append(shot(page, "review_deepreviewer_standard.png"))
            assert "Traceback" not in page.content()
        finally:
            browser.close()
    # what the browser's requests made the replay server receive: upstream limits, not 256
    assert [r.body["max_tokens"] for r in replay.chats("research")] == [19000]
    assert [r.body["max_tokens"] for r in replay.chats("cyclereviewer")] == [7000]
    assert [r.body["max_tokens"] for r in replay.chats("deepreviewer-standard")] == [35000]
    for path in shots:
        assert 10_000 < path.stat().st_size < MAX_PNG, (path.name, path.stat().st_size)
