"""The engine registry: built-in names and ``module:Class`` specs, imported on first use, with a
one-line error for a spec that names no module, no class, or a class that is not an Engine."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.engines import ENGINES, ChatRequest, choose_engine, engine_class, load_engine
from cycleresearcher.errors import InputError
from support import FAKE_ENGINE
from support.fake_engine import FakeEngine

runner = CliRunner()


def test_a_spec_loads_its_class_and_gets_model_and_options():
    assert engine_class(FAKE_ENGINE) is FakeEngine
    assert choose_engine("12B", FAKE_ENGINE) == FAKE_ENGINE  # an explicit spec wins over the model
    engine = load_engine(FAKE_ENGINE, model="any", script="scripted", context_length="none")
    assert isinstance(engine, FakeEngine) and engine.context_length is None
    [res] = engine.generate([ChatRequest([{"role": "user", "content": "hi"}])])
    assert res.text == "scripted"


def test_the_test_engine_is_not_a_user_engine():
    assert "fake" not in ENGINES and not any("fake" in spec for spec in ENGINES.values())
    with pytest.raises(InputError, match="Unknown engine 'fake'. Choose one of: hf, llamacpp, openai, ray, vllm"):
        choose_engine(None, "fake")
    assert "fake" not in runner.invoke(app, ["research", "generate", "--help"]).output


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("nosuch_pkg_xyz.engines:MyEngine", "no module named 'nosuch_pkg_xyz.engines'. Install it, or put its folder on PYTHONPATH"),
        ("support.no_such_module:E", "no module named 'support.no_such_module'"),
        ("support.fake_engine:NoSuchEngine", "module 'support.fake_engine' has no 'NoSuchEngine'"),
        ("cycleresearcher.engines.base:SamplingParams", "SamplingParams is not an engine class"),
        ("support:FAKE_ENGINE", "FAKE_ENGINE is not an engine class"),
        ("cycleresearcher.engines.base:Engine.nope", "has no 'Engine.nope'"),
        (":FakeEngine", "Unknown engine ':FakeEngine'"),
        ("support.fake_engine:", "or name an engine class of your own as module:Class"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(spec, needle):
    with pytest.raises(InputError) as err:
        engine_class(spec)
    assert needle in str(err.value)


def test_a_module_that_fails_to_import_is_named_with_its_own_error(tmp_path, monkeypatch):
    (tmp_path / "broken_engine_mod.py").write_text("import not_installed_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InputError, match="importing 'broken_engine_mod' failed .*not_installed_dependency_xyz"):
        engine_class("broken_engine_mod:Engine")


def test_cli_refuses_a_bad_spec_in_one_line_before_any_work(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{a,\n title={Good},\n abstract={A good abstract about things.}\n}\n")
    result = runner.invoke(
        app, ["research", "generate", str(bib), "--no-pdf", "-e", "nosuch_pkg_xyz:E", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    assert "no module named 'nosuch_pkg_xyz'" in result.output.replace("\n", "")
    assert not (tmp_path / "o" / "run.sqlite").exists()


def test_cli_runs_a_spec_engine_with_its_options(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{a,\n title={Good},\n abstract={A good abstract about things.}\n}\n")
    out = tmp_path / "o"
    args = ["research", "generate", str(bib), "--no-pdf", "-e", FAKE_ENGINE, "--engine-opt", "script=A draft."]
    result = runner.invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "run.sqlite").exists()
