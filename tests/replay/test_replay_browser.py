"""The web page in a real headless Chromium, served by `cycleresearcher serve --base-url` against the
replay server: a real 12B paper, its CycleReviewer review and a DeepReviewer Standard review of an
uploaded paper. Screenshots go to test-artifacts/replay/ (each under 300 KB) on every run; git
ignores them because they show text of the fixtures (non-commercial licence, see
shared/fixtures/README.md), which is never committed. Uses the
system Chromium (/usr/bin/chromium); no browser is ever downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.browser import launch_chromium, serve
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
MAX_PNG = 300_000
REVIEWED_TITLE = "Completing Visual Objects via Bridging Generation and Segmentation"


@pytest.fixture
def web(replay, tmp_path):
    with serve(tmp_path, "--base-url", replay.url) as url:
        yield url


def shot(page, name: str) -> Path:
    path = ARTIFACTS / name
    page.screenshot(path=str(path))  # the viewport: the part a reader sees first, a small PNG
    return path


def test_replayed_paper_and_reviews_in_chromium(web, replay, fixtures_dir, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    title = title_of(fenced(conversation(fixtures_dir, 1)[2]["content"], "latex"))
    shots = []
    with sync_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
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
