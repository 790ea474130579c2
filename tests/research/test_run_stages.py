"""A stored paper never moves backwards: `generate --resume` after `complete` keeps the paper
completed with real results (in the store and on disk), a resume with other settings is refused
with the settings named, and only --redo replaces a paper, keeping the earlier version."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.research import STAGE1_STOP
from cycleresearcher.store import RunStore
from researcher_outputs import RESULTS, STAGE1, TURN5, simulated_output
from support import FAKE_ENGINE

runner = CliRunner()
TWO_STAGE = STAGE1 + "\n" + STAGE1_STOP + "\n\n```json\n[]```"


def _generate(bib, run, *extra: str, script: str = TWO_STAGE):
    args = ["research", "generate", str(bib), "-o", str(run), "--no-pdf", "--engine", FAKE_ENGINE]
    return runner.invoke(app, [*args, "--engine-opt", f"script={script}", *extra])


def _completed_run(tmp_path, bib):
    run = tmp_path / "run"
    assert _generate(bib, run, "--two-stage").exit_code == 0
    results = tmp_path / "results.json"
    results.write_text(json.dumps(RESULTS), encoding="utf-8")
    args = ["research", "complete", str(run), "--results", str(results), "--no-pdf", "--engine", FAKE_ENGINE]
    r = runner.invoke(app, [*args, "--engine-opt", f"script={TURN5}"])
    assert r.exit_code == 0, r.output
    [folder] = (run / "papers").iterdir()
    return run, folder


def _stored(run, pid):
    with RunStore(run) as store:
        return store.get("paper", pid), store.get("paper_version", f"{pid}.v1")


def test_two_stage_resume_keeps_the_completed_paper(tmp_path, bib) -> None:  # noqa: F811
    run, folder = _completed_run(tmp_path, bib)
    before = (folder / "paper.json").read_bytes()
    r = _generate(bib, run, "--two-stage", "--resume")
    assert r.exit_code == 0, r.output
    assert "Kept 1 paper(s)" in r.output and "completed with your real results" in r.output
    assert (folder / "paper.json").read_bytes() == before  # was 11,379 -> 9,110 bytes (back to stage 1)
    paper, _ = _stored(run, folder.name)
    assert paper["meta"]["stage"] == "complete" and paper["results_simulated"] is False
    assert paper["Experimental_results"] == RESULTS


def test_resume_with_other_settings_names_them(tmp_path, bib) -> None:  # noqa: F811
    run, folder = _completed_run(tmp_path, bib)
    before = (folder / "paper.json").read_bytes()
    r = _generate(bib, run, "--resume", "-n", "2", "--temperature", "0.7", script=simulated_output(0))
    assert r.exit_code == 2, r.output
    line = " ".join(r.output.split())
    assert "--two-stage on in the run, off now" in line
    assert "-n 1 in the run, 2 now" in line and "--temperature 0.4 in the run, 0.7 now" in line
    assert "--redo" in line
    assert (folder / "paper.json").read_bytes() == before
    paper, _ = _stored(run, folder.name)
    assert paper["results_simulated"] is False


def test_redo_replaces_a_real_paper_and_keeps_it_as_a_version(tmp_path, bib) -> None:  # noqa: F811
    run, folder = _completed_run(tmp_path, bib)
    real = json.loads((folder / "paper.json").read_text())
    r = _generate(bib, run, "--resume", "--redo", script=simulated_output(0))
    assert r.exit_code == 0, r.output
    paper, earlier = _stored(run, folder.name)
    assert paper["results_simulated"] is True and paper["meta"]["versions"][0]["version"] == 1
    assert earlier["results_simulated"] is False and earlier["Experimental_results"] == RESULTS
    kept = json.loads((folder / "paper.v1.json").read_text())
    assert kept["Experimental_results"] == real["Experimental_results"] and kept["results_simulated"] is False


def test_same_settings_resume_is_a_no_op(tmp_path, bib) -> None:  # noqa: F811
    run = tmp_path / "run"
    assert _generate(bib, run, script=simulated_output(0)).exit_code == 0
    [folder] = (run / "papers").iterdir()
    before = (folder / "paper.json").read_bytes()
    r = _generate(bib, run, "--resume", script=simulated_output(0))
    assert r.exit_code == 0, r.output
    assert "Kept" not in r.output
    assert (folder / "paper.json").read_bytes() == before
    paper, earlier = _stored(run, folder.name)
    assert earlier is None and not paper["meta"].get("versions")
