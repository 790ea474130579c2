"""A job's page by its state: a stopped job (failed, or interrupted by a server stop) shows no time
left and no "keeps running", and offers a way to try again (a generate job starts again in its own
run); what a job warned about reaches the page of its result. Scripted engine (orchestration only)."""

from __future__ import annotations

from test_web_api import WEB, Factory, generate, make, wait

from cycleresearcher.store import RunStore


def _interrupt(tmp_path, client, job: dict) -> dict:
    """``job`` as a server stop leaves it: running, with a rate and a time left, then a restart."""
    client.app.state.runner.shutdown()
    with RunStore(tmp_path / "runs" / job["run"]) as store:
        stale = {**job, "id": "stalejob0001", "state": "running", "result_url": None,
                 "message": "generating 2 paper(s)", "tokens": 300, "tok_s": 2.0, "eta_s": 309.0}  # fmt: skip
        store.put("job", "stalejob0001", stale)
    return stale


def test_an_interrupted_generate_job_says_so_and_starts_again_in_its_run(tmp_path):
    client, _ = make(tmp_path)
    first = generate(client, n="2")
    assert first["state"] == "done"
    _interrupt(tmp_path, client, first)
    again, factory = make(tmp_path)
    page = again.get("/jobs/stalejob0001").text
    assert "interrupted" in page and "the server stopped while generating 2 paper(s)" in page
    assert "ETA" not in page and "keeps running" not in page and "5m09s" not in page
    assert 'action="/jobs/stalejob0001/resume"' in page and "Back to the form, with these settings" in page
    r = again.post("/jobs/stalejob0001/resume", follow_redirects=False)
    job = wait(again, r)
    # the same run, and its two papers were not written again: every request was reused
    assert job["state"] == "done" and job["run"] == first["run"], job
    assert job["params"]["form"] == first["params"]["form"]
    assert "researcher" not in factory.engines or not factory.engines["researcher"].calls
    # a job that is not stopped cannot be started again
    r = again.post(f"/jobs/{job['id']}/resume", follow_redirects=False)
    assert r.status_code == 400 and "cannot be started again" in r.text


def test_a_failed_job_page_says_where_it_stopped_and_leads_back_to_the_filled_form(tmp_path):
    client, _ = make(tmp_path, Factory(fail=RuntimeError("engine exploded")))
    data = {"references_text": (WEB / "refs.bib").read_text(), "topic": "sparse review", "n": "2",
            "max_tokens": "77", "model": "my-model"}  # fmt: skip
    job = wait(client, client.post("/generate", data=data, follow_redirects=False))
    assert job["state"] == "failed" and job["message"].startswith("stopped while loading the model")
    page = client.get(f"/jobs/{job['id']}").text
    assert "failed · failed" not in page.replace("</span>\n     · <span id=\"job-message\">", " · ")
    assert "keeps running" not in page and "ETA" not in page
    assert f'href="/?job={job["id"]}#generate"' in page
    form = client.get(f"/?job={job['id']}").text.split('id="generate"')[1].split("</section>")[0]
    assert 'value="sparse review"' in form and 'value="77"' in form and 'value="my-model"' in form
    assert 'name="n" type="number" min="1" max="16" value="2"' in form
    assert "Sparse attention for long documents" in form  # the pasted references come back too


def test_a_failed_review_job_leads_back_to_its_page(tmp_path):
    client, _ = make(tmp_path, Factory(fail=RuntimeError("engine exploded")))
    tex = b"\\documentclass{article}\\title{Mine}\\begin{document}\\section{Intro}Text.\\end{document}"
    r = client.post("/review-upload", files={"paper": ("d.tex", tex, "text/x-tex")}, follow_redirects=False)
    job = wait(client, r)
    assert job["state"] == "failed"
    page = client.get(f"/jobs/{job['id']}").text
    assert f'href="/runs/{job["run"]}/reviews/{job["params"]["target"]}"' in page
    assert "resume-button" not in page


class EmbeddedFactory(Factory):
    """The scripted engine dressed as the embedded stand-in (llama.cpp with the shipped model),
    so the review states the stand-in's budget as a warning."""

    def __call__(self, choice, family):
        engine = super().__call__(choice, family)
        engine.name, engine.model_id = "llamacpp", "embedded"
        return engine


def test_the_embedded_reviews_budget_warning_is_on_the_job_and_review_pages(tmp_path):
    client, _ = make(tmp_path, EmbeddedFactory())
    tex = b"\\documentclass{article}\\title{Mine}\\begin{document}\\section{Intro}Text.\\end{document}"
    r = client.post(
        "/review-upload", files={"paper": ("d.tex", tex, "text/x-tex")},
        data={"model": "embedded", "max_tokens": "64"}, follow_redirects=False,
    )  # fmt: skip
    job = wait(client, r)
    assert job["state"] == "done" and any("embedded stand-in" in w for w in job["warnings"]), job
    from markupsafe import escape

    warning = str(escape(next(w for w in job["warnings"] if "embedded stand-in" in w)))  # as the page has it
    assert warning in client.get(f"/jobs/{job['id']}").text
    review = client.get(job["result_url"]).text
    assert 'data-testid="job-warnings"' in review and warning in review


def test_the_runs_list_shows_each_runs_last_job_state(tmp_path):
    client, _ = make(tmp_path, Factory(fail=RuntimeError("engine exploded")))
    job = wait(client, client.post("/generate", data={"references_text": (WEB / "refs.bib").read_text()},
                                   follow_redirects=False))  # fmt: skip
    row = client.get("/runs").text.split(f'href="/runs/{job["run"]}"')[1].split("</tr>")[0]
    assert '<span class="state failed">failed</span>' in row


def test_paper_quality_of_a_run_with_no_decision_says_so(tmp_path):
    client, _ = make(tmp_path)
    tex = b"\\documentclass{article}\\title{Mine}\\begin{document}\\section{Intro}Text.\\end{document}"
    job = wait(client, client.post("/review-upload", files={"paper": ("d.tex", tex, "text/x-tex")},
                                   follow_redirects=False))  # fmt: skip
    with RunStore(tmp_path / "runs" / job["run"]) as store:
        key = job["params"]["target"]
        record = store.get("review", key)
        record["review"]["decision"] = None
        store.put("review", key, record)
    page = client.get(f"/runs/{job['run']}").text
    table = page.split('data-testid="quality"')[1].split("</table>")[0]
    assert "no decision yet" in table and "undefined" not in table
