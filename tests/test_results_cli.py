"""`research complete` with real results: the shape check, the summary's wording, --redo keeping
the earlier version, the ungrounded count. Runs are made with the scripted engine."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.research import STAGE1_STOP, CycleResearcher, ResearchSettings
from cycleresearcher.store import RunStore
from researcher_outputs import RESULTS, STAGE1, TURN5, simulated_output
from support import FAKE_ENGINE
from support.fake_engine import FakeEngine

runner = CliRunner()


def _run(tmp_path, bib, mode: str = "two-stage"):  # noqa: F811
    def script(req, k):
        if mode == "simulate":
            return simulated_output(k)
        return STAGE1 + "\n" + STAGE1_STOP + "\n\n```json\n[]```"

    run = tmp_path / "run"
    researcher = CycleResearcher(engine=FakeEngine(script), run_dir=run)
    [paper] = researcher.generate([bib], ResearchSettings(n=1, mode=mode, max_tokens=100))
    researcher.close()
    return run, paper.id


def _complete(run, results, *extra):
    path = run.parent / "results.json"
    path.write_text(results if isinstance(results, str) else json.dumps(results), encoding="utf-8")
    args = ["research", "complete", str(run), "--results", str(path), "--no-pdf", "--engine", FAKE_ENGINE]
    return runner.invoke(app, [*args, "--engine-opt", f"script={TURN5}", *extra])


def test_any_json_is_not_taken_as_results(tmp_path, bib) -> None:  # noqa: F811
    run, pid = _run(tmp_path, bib)
    r = _complete(run, {"acc": 81.2})
    assert r.exit_code != 0 and "results.json: the results must be a JSON list" in r.output
    r = _complete(run, [{"name": "Main", "result": {"table": [["M", "PPL"], ["Ours", "10.1", "x"]]}}])
    assert r.exit_code != 0 and "item 1 ('Main'): 'result.table' row 2 has 3 cells" in r.output
    with RunStore(run) as store:
        assert store.get("paper", pid)["meta"]["stage"] == "awaiting_results"  # still open


def test_summary_says_real_and_redo_keeps_the_earlier_version(tmp_path, bib) -> None:  # noqa: F811
    run, pid = _run(tmp_path, bib)
    r = _complete(run, RESULTS)
    assert r.exit_code == 0, r.output
    assert "REAL results you supplied" in r.output and "SIMULATED" not in r.output
    assert "match none of the results" not in r.output

    r = _complete(run, RESULTS)
    assert r.exit_code != 0 and "add --redo" in r.output

    changed = json.loads(json.dumps(RESULTS))
    changed[0]["result"]["table"][1][1] = "9.7"  # the text still says 10.1
    r = _complete(run, changed, "--redo")
    assert r.exit_code == 0, r.output
    assert "1 number(s) in the results text match none of the results" in r.output
    folder = run / "papers" / pid
    assert json.loads((folder / "paper.v1.json").read_text())["Experimental_results"] == RESULTS
    record = json.loads((folder / "paper.json").read_text())
    assert record["Experimental_results"] == changed and record["meta"]["versions"][0]["version"] == 1
    assert record["ungrounded_numbers"][0]["number"] == "10.1"


def test_simulated_paper_redone_with_real_results(tmp_path, bib) -> None:  # noqa: F811
    run, pid = _run(tmp_path, bib, mode="simulate")
    r = _complete(run, RESULTS)
    assert r.exit_code != 0 and "add --redo" in r.output
    r = _complete(run, RESULTS, "--redo")
    assert r.exit_code == 0, r.output
    assert "REAL results you supplied" in r.output
    with RunStore(run) as store:
        paper = store.get("paper", pid)
        earlier = store.get("paper_version", f"{pid}.v1")
    assert paper["results_simulated"] is False and earlier["results_simulated"] is True
    assert paper["generated_text"].count("## Experimental_results") == 1  # the simulated turns are gone
