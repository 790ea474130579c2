"""What `research generate` / `research complete` tell a user (the research explorer's findings):
a max-tokens budget larger than the context, a wrong --paper, an empty result name, a no-op rerun,
settings shown as flags, commands kept on one line, and no local folder in a paper's record."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.errors import ContextLengthError
from cycleresearcher.paper.results import ResultsError, validate_results
from cycleresearcher.research import STAGE1_STOP, CycleResearcher, ResearchSettings
from researcher_outputs import RESULTS, STAGE1, simulated_output
from support import FAKE_ENGINE
from support.fake_engine import FakeEngine

runner = CliRunner()
TWO_STAGE = STAGE1 + "\n" + STAGE1_STOP + "\n\n```json\n[]```"


def _generate(bib, run, *extra: str, script: str = TWO_STAGE):
    args = ["research", "generate", str(bib), "-o", str(run), "--no-pdf", "--engine", FAKE_ENGINE]
    return runner.invoke(app, [*args, "--engine-opt", f"script={script}", *extra])


def test_max_tokens_over_the_context_says_so_not_a_negative_budget(bib):
    engine = FakeEngine("x", context_length=400)
    with pytest.raises(ContextLengthError) as err:
        CycleResearcher(engine=engine).generate([bib], ResearchSettings(max_tokens=1000))
    assert "1000 is more than the model's context (400): lower it" in str(err.value)
    assert "-600" not in str(err.value)
    with pytest.raises(ContextLengthError) as err:  # dropping references cannot help either
        CycleResearcher(engine=engine).generate([bib], ResearchSettings(max_tokens=1000, drop_to_fit=True))
    assert "more than the model's context" in str(err.value) and "-600" not in str(err.value)
    assert engine.calls == []


def test_max_tokens_leaving_too_little_room_names_lowering_it_first(bib):
    engine = FakeEngine("x", context_length=800)  # the prompt takes about 400 of it
    with pytest.raises(ContextLengthError) as err:
        CycleResearcher(engine=engine).generate([bib], ResearchSettings(max_tokens=790))
    assert str(err.value).split(". ", 1)[1].startswith("Lower --max-tokens to at most")
    with pytest.raises(ContextLengthError, match=r"lower max new tokens \(--max-tokens\) first"):
        CycleResearcher(engine=engine).generate([bib], ResearchSettings(max_tokens=790, drop_to_fit=True))


def test_the_paper_record_names_its_reference_file_not_its_folder(bib, tmp_path):
    researcher = CycleResearcher(engine=FakeEngine(simulated_output(0)), run_dir=tmp_path / "run")
    [paper] = researcher.generate([bib], ResearchSettings(max_tokens=100))
    assert paper.meta["source"] == "refs.bib" and str(tmp_path) not in json.dumps(paper.to_dict())
    [(_, refset)] = list(researcher.store.items("reference_set"))
    assert refset["source"] == str(bib)  # the run store keeps where it read them


def test_complete_with_a_wrong_paper_id_lists_the_runs_papers(tmp_path, bib):
    run = tmp_path / "run"
    assert _generate(bib, run, script=simulated_output(0)).exit_code == 0
    [pid] = [p.name for p in (run / "papers").iterdir()]
    results = tmp_path / "results.json"
    results.write_text(json.dumps(RESULTS), encoding="utf-8")
    r = runner.invoke(app, ["research", "complete", str(run), "--results", str(results), "--redo", "--paper", "nosuch"])
    assert r.exit_code == 2
    line = " ".join(r.output.split())
    assert "No paper with id 'nosuch'" in line and pid in line and "--two-stage" not in line


def test_an_empty_result_name_is_called_empty():
    with pytest.raises(ResultsError, match="item 1: 'name' is empty"):
        validate_results([{"name": "", "result": {"description": "x"}}])


def test_next_command_is_one_line_and_a_noop_resume_generates_nothing(tmp_path, bib):
    run = tmp_path / ("a-run-folder-long-enough-to-pass-eighty-columns-" * 2)
    first = _generate(bib, run, "--two-stage")
    assert first.exit_code == 0, first.output
    assert f"cycleresearcher research complete {run} --results results.json" in first.output
    assert "generated tokens" in first.output
    again = _generate(bib, run, "--two-stage", "--resume")
    assert again.exit_code == 0, again.output
    assert "nothing was generated in this run" in again.output and "tok/s" not in again.output


def test_resume_refused_shows_flags_as_on_or_off(tmp_path, bib):
    run = tmp_path / "run"
    assert _generate(bib, run, "--drop-to-fit", script=simulated_output(0)).exit_code == 0
    r = _generate(bib, run, "--resume", script=simulated_output(0))
    assert r.exit_code == 2
    line = " ".join(r.output.split())
    assert "--drop-to-fit on in the run, off now" in line and "True" not in line


def test_interrupt_names_the_folder_to_resume(tmp_path, bib, monkeypatch):
    import cycleresearcher.app.generate as generate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(generate, "generate", interrupted)
    run = tmp_path / "run"
    r = _generate(bib, run)
    assert r.exit_code == 130
    assert f"rerun with --resume -o {run} to continue" in r.output


def test_help_states_the_embedded_default_the_code_uses():
    from cycleresearcher.models.embedded import EMBEDDED

    r = runner.invoke(app, ["research", "generate", "--help"], env={"COLUMNS": "200"})
    text = " ".join(r.output.split())
    assert f"{EMBEDDED.paper_constrained_max_tokens:,}" in text and "1,024 on the embedded model" not in text

