"""The start page's forms as a user meets them when something is wrong: each error in its own card
with what was typed kept, messages that name what the form takes, and nothing left behind by a
refused upload. Scripted engine (orchestration only)."""

from __future__ import annotations

import re
from pathlib import Path

from test_web_api import WEB, make, no_trace


def _alert_card(html: str) -> str:
    """The id of the card that holds the page's error box."""
    before = html[: html.index('role="alert"')]
    return re.findall(r'<section class="card" id="([^"]+)"', before)[-1]


def test_max_new_tokens_zero_or_negative_is_refused_not_turned_into_the_default(tmp_path):
    client, factory = make(tmp_path)
    for bad in ("0", "-5"):
        r = client.post(
            "/generate", data={"references_text": (WEB / "refs.bib").read_text(), "max_tokens": bad},
            follow_redirects=False,
        )  # fmt: skip
        assert r.status_code == 400, bad
        assert f"Max new tokens must be between 1 and 100000, got {bad}." in r.text
        assert f'name="max_tokens" type="number" min="1" max="100000" value="{bad}"' in r.text  # kept
    assert not client.app.state.runner.jobs and not factory.calls


def test_review_upload_errors_show_in_the_review_card_with_the_settings_kept(tmp_path):
    client, _ = make(tmp_path)
    typed = {"reviewer": "deepreviewer", "review_mode": "best", "model": "embedded", "max_tokens": "600"}
    r = client.post("/review-upload", files={"paper": ("paper.docx", b"PK\x03\x04\x14\x00\x00\x00", "x")}, data=typed)
    assert r.status_code == 400 and _alert_card(r.text) == "review-upload"
    card = r.text.split('id="review-upload"')[1].split("</section>")[0]
    assert 'value="deepreviewer" selected' in card and 'value="best" selected' in card
    assert 'value="embedded"' in card and 'value="600"' in card
    # the generate card keeps its own defaults
    assert 'value="600"' not in r.text.split('id="generate"')[1].split("</section>")[0]
    assert "paper.docx is a Word or other zipped document" in card and "PDF, .tex, .md or .txt" in card
    assert "UTF-8 text file" not in r.text
    no_trace(r.text)


def test_an_empty_file_is_said_to_be_empty_and_no_file_to_be_missing(tmp_path):
    client, _ = make(tmp_path)
    r = client.post("/review-upload", files={"paper": ("e.txt", b"", "text/plain")})
    assert r.status_code == 400 and "e.txt is empty" in r.text and "No paper uploaded" not in r.text
    r = client.post("/review-upload", files={"paper": ("", b"", "application/octet-stream")})
    assert r.status_code == 400 and "No paper uploaded" in r.text


def test_detect_upload_errors_show_in_the_detect_card(tmp_path):
    client, _ = make(tmp_path)
    r = client.post("/detect-upload", files={"paper": ("x.pdf", b"just text", "application/pdf")})
    assert r.status_code == 400 and _alert_card(r.text) == "detect-upload" and "not a PDF" in r.text


def test_a_refused_upload_leaves_no_run(tmp_path):
    client, _ = make(tmp_path)
    broken = b"%PDF-1.4\n%%EOF"
    for path in ("/review-upload", "/detect-upload"):
        r = client.post(path, files={"paper": ("empty.pdf", broken, "application/pdf")})
        assert r.status_code == 400 and "not a readable PDF" in r.text
    runs = tmp_path / "runs"
    assert [p.name for p in runs.iterdir()] == []
    assert "No runs yet" in client.get("/runs").text


def test_an_oversize_bib_states_its_real_size(tmp_path):
    client, _ = make(tmp_path)
    big = b"%" + b"x" * 6_084_183  # 5.8 MB (of 2**20 bytes, as the limit is stated)
    r = client.post("/generate", files={"bib": ("huge.bib", big, "text/plain")})
    assert r.status_code == 400
    assert "The file huge.bib is 5.8 MB; the limit is 5 MB." in r.text


def test_a_refused_results_file_is_shown_on_the_paper_page_with_the_fields_kept(tmp_path):
    from test_web_api import generate

    client, factory = make(tmp_path)
    url = generate(client, mode="two-stage")["result_url"]
    calls = len(factory.calls)
    for files, message in (
        ({"results": ("r.json", b'{"a": 1 "b"}', "application/json")}, "not JSON (line 1"),
        ({"results": ("r.json", b"[]", "application/json")}, "results file"),
        ({"results": ("", b"", "application/octet-stream")}, "No results file chosen"),
    ):
        r = client.post(
            url + "/complete", files=files, data={"model": "embedded", "max_tokens": "64"},
            follow_redirects=False,
        )  # fmt: skip
        assert r.status_code == 400 and 'data-testid="paper-title"' in r.text  # the paper page itself
        card = r.text.split('<section class="card" id="complete">')[1].split("</section>")[0]
        assert message in card and 'role="alert"' in card, message
        assert 'value="embedded"' in card and 'value="64"' in card
        assert "Cannot do that" not in r.text
    assert len(factory.calls) == calls and len(client.app.state.runner.jobs) == 1


def _long_bib(n: int = 30) -> bytes:
    words = " ".join(f"token{i} attention memory review" for i in range(120))
    return "\n".join(
        f"@article{{ref{k}, title={{Study number {k} of long documents}}, author={{Doe, Jo}}, year={{2020}}, "
        f"abstract={{{words} {k}}}}}"
        for k in range(n)
    ).encode()


def test_a_bib_too_long_for_the_context_is_worded_for_the_page_and_the_box_fits_it(tmp_path):
    from test_web_api import wait

    client, _ = make(tmp_path)
    files = {"bib": ("long.bib", _long_bib(), "text/plain")}
    job = wait(client, client.post("/generate", files=files, data={"max_tokens": "64"}, follow_redirects=False))
    assert job["state"] == "failed"
    assert 'Tick "drop the least relevant references to fit"' in job["error"], job["error"]
    assert "lower Max new tokens" in job["error"] and "--" not in job["error"]  # no CLI flags
    page = client.get("/").text
    assert 'name="drop_to_fit"' in page and "drop the least relevant references to fit" in page
    data = {"max_tokens": "64", "drop_to_fit": "1"}
    job = wait(client, client.post("/generate", files=files, data=data, follow_redirects=False))
    assert job["state"] == "done", job
    assert job["params"]["drop_to_fit"] is True
    assert any("dropped" in w and "least relevant references" in w for w in job["warnings"])


def test_the_docs_options_table_lists_every_serve_option():
    from support.cli_walk import leaves, long_name, options

    [serve] = [cmd for path, cmd in leaves() if path == ("serve",)]
    table = (Path(__file__).parents[2] / "docs" / "web.md").read_text().split("| Option |")[1].split("\n\n")[0]
    missing = [long_name(o) for o in options(serve) if long_name(o) != "--help" and f"`{long_name(o)}`" not in table]
    assert missing == []
