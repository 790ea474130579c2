"""Results on the web page: the shape check on upload, redoing a completed paper (earlier version
kept), ungrounded numbers marked in the text. Scripted engine (orchestration only)."""

from __future__ import annotations

import json

from test_web_api import WEB, make, no_trace, wait

from cycleresearcher.store import RunStore


def _two_stage(client) -> str:
    from test_web_api import generate

    return generate(client, mode="two-stage")["result_url"]


def _upload(client, url: str, value, **form) -> object:
    content = value if isinstance(value, bytes) else json.dumps(value).encode()
    return client.post(
        url + "/complete",
        files={"results": ("r.json", content, "application/json")},
        data={"max_tokens": "64", **form},
        follow_redirects=False,
    )


def test_results_of_the_wrong_shape_are_refused_with_where(tmp_path) -> None:
    client, factory = make(tmp_path)
    url = _two_stage(client)
    calls = len(factory.engines["researcher"].calls)
    for value, message in (
        ({"acc": 81.2}, "the results must be a JSON list"),
        (
            [{"name": "Ablation", "result": {"table": "81.2"}}],
            "item 1 (&#39;Ablation&#39;): &#39;result.table&#39; must be a list of rows",
        ),
    ):
        r = _upload(client, url, value)
        assert r.status_code == 400 and message in r.text, r.text[:400]
        no_trace(r.text)
    assert len(factory.engines["researcher"].calls) == calls  # no model ran
    assert "Complete with your real results" in client.get(url).text


def test_completed_paper_can_be_redone_and_keeps_its_earlier_version(tmp_path) -> None:
    client, factory = make(tmp_path)
    url = _two_stage(client)
    run, pid = url.split("/")[2], url.rsplit("/", 1)[1]
    first = json.loads((WEB / "results.json").read_text())
    assert wait(client, _upload(client, url, first))["state"] == "done"
    page = client.get(url).text
    assert "Redo the results section with new results" in page and 'id="complete"' in page
    assert '<input type="hidden" name="redo" value="1">' in page  # the Redo form asks for the redo
    assert 'class="ungrounded"' not in page  # 3.1 and 12.0 are both in the results
    figure = f"{url}/figures/results-1.png"
    assert f'<img src="{figure}"' in page
    r = client.get(figure)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"
    assert client.get(f"{url}/figures/main.tex").status_code == 404
    assert client.get(f"{url}/figures/..%2Fmain.tex").status_code == 404

    second = json.loads(json.dumps(first))
    second[0]["result"]["table"][2][1] = "2.9"  # the text's 3.1 no longer matches
    again = wait(client, _upload(client, url, second))  # not asked to redo: the paper is complete
    assert again["state"] == "failed" and "No paper awaiting results" in again["error"], again
    done = wait(client, _upload(client, url, second, redo="1"))
    assert done["state"] == "done", done
    with RunStore(tmp_path / "runs" / run) as store:
        paper = store.get("paper", pid)
        earlier = store.get("paper_version", f"{pid}.v1")
    assert paper["meta"]["versions"] == [{"version": 1, "results_simulated": False}]
    assert earlier["Experimental_results"] == first and paper["Experimental_results"] == second
    assert [n["number"] for n in paper["ungrounded_numbers"]] == ["3.1"]
    folder = tmp_path / "runs" / run / "papers" / pid
    assert json.loads((folder / "paper.v1.json").read_text())["Experimental_results"] == first
    page = client.get(url).text
    assert '<mark class="ungrounded" title="matches none of the results">3.1</mark>' in page
    assert "<td>2.9</td>" in page
    chat = factory.engines["researcher"].calls[-1].messages
    assert "2.9" in chat[-1]["content"] and chat[-1]["content"].count("## Experimental_results") == 1
    assert "## Experimental_results" not in chat[2]["content"]  # turn 3 without the earlier turns
