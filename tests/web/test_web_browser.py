"""End to end in a real headless Chromium against `cycleresearcher serve` on a free loopback port,
with the embedded model: upload a .bib -> generate -> review -> detect -> download JSON.

Screenshots of the paper view and the review view are saved to test-artifacts/ (gitignored).
Uses the system Chromium (/usr/bin/chromium); no browser is ever downloaded.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from support.browser import launch_chromium, serve

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
WEB = Path(__file__).parents[1] / "data" / "web"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def server(tmp_path):
    with serve(tmp_path, "--max-tokens", "64") as url:
        yield url


def test_bib_to_paper_review_detection_and_json_in_chromium(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1100, "height": 900}, accept_downloads=True)
        try:
            page.goto(server)
            page.set_input_files("#bib-input", str(WEB / "refs.bib"))
            page.uncheck("#generate-form input[name=pdf]")  # the TeX compile is tested in test_web_api
            page.click("#generate-button")
            page.wait_for_url("**/jobs/*")
            page.wait_for_url("**/papers/*", timeout=150_000)  # the job page follows the job to the paper
            assert page.get_by_test_id("simulated-banner").is_visible()
            assert page.get_by_test_id("paper-title").is_visible()
            page.screenshot(path=str(ARTIFACTS / "web_paper_view.png"), full_page=True)

            with page.expect_download() as info:
                page.click("#download-json")
            paper = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
            assert paper["id"] in page.url and paper["results_simulated"] is True and paper["generated_text"]

            page.fill("#review input[name=max_tokens]", "32")
            page.click("#review-button")
            page.wait_for_url("**/reviews/*", timeout=150_000)
            review = page.get_by_test_id("review")
            assert review.is_visible() and "Decision:" in review.inner_text()
            page.screenshot(path=str(ARTIFACTS / "web_review_view.png"), full_page=True)

            page.click("#detect-button")
            page.wait_for_url("**/jobs/*")
            # a generated paper scored by the embedded scorer: the criterion and the plain
            # statement, no probability (its calibration is for short prose, not papers)
            criterion = page.get_by_test_id("detection-criterion")
            criterion.wait_for(timeout=150_000)
            assert math.isfinite(float(criterion.locator("strong").inner_text()))
            statement = page.get_by_test_id("detection-statement").inner_text()
            assert statement.startswith("This scorer gives no reliable probability for papers")
            assert page.get_by_test_id("detection-probability").count() == 0
            assert "Traceback" not in page.content()
        finally:
            browser.close()
    assert (ARTIFACTS / "web_paper_view.png").stat().st_size > 10_000
    assert (ARTIFACTS / "web_review_view.png").stat().st_size > 10_000
