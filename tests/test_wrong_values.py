"""Values of the wrong type and unknown keys: one line naming the key and what it accepts (exit 2);
an unexpected error: one line and a log holding the traceback (secrets redacted); --debug shows it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.engines import engine_class
from cycleresearcher.engines.options import check_engine_options, engine_parameters
from cycleresearcher.errors import InputError
from support import FAKE_ENGINE

runner = CliRunner()
OPENAI = ["-e", "openai", "--base-url", "http://127.0.0.1:9/v1"]  # nothing listens: we must fail first


@pytest.fixture
def bib(tmp_path):
    path = tmp_path / "refs.bib"
    path.write_text("@article{a,\n title={Good},\n abstract={A good abstract about things.}\n}\n")
    return path


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    text = result.output.replace("\n", "")
    for needle in needles:
        assert needle in text, text
    return text


@pytest.mark.parametrize(
    ("engine", "opt", "needle"),
    [
        (
            OPENAI,
            "max_concurrency=abc",
            "'max_concurrency' of the openai engine expects an integer, got 'abc'",
        ),
        (OPENAI, "timeout=abc", "'timeout' of the openai engine expects a number"),
        (OPENAI, "max_retries=1.5", "'max_retries' of the openai engine expects an integer"),
        (OPENAI, "extra_body=abc", "'extra_body' of the openai engine expects a JSON object"),
        (OPENAI, "context_length=abc", "'context_length' of the openai engine expects an integer or none"),
        ([], "n_ctxx=4096", "Unknown engine option 'n_ctxx' for the llamacpp engine. Did you mean 'n_ctx'?"),
        ([], "n_thread=1", "Did you mean 'n_threads'?"),
        (["-e", FAKE_ENGINE], "fail_on=x", f"'fail_on' of the {FAKE_ENGINE} engine expects a comma-separated list"),
    ],
)
def test_engine_opt_refused_with_what_it_accepts(engine, opt, needle, bib, tmp_path):
    args = ["research", "generate", str(bib), "--no-pdf", "-o", str(tmp_path / "o"), *engine]
    result = runner.invoke(app, [*args, "--engine-opt", opt])
    text = one_line_error(result, needle)
    if "Unknown" in needle:
        assert "Known options (--engine-opt KEY=VALUE): chat_template, max_ctx, max_sequences, n_batch, n_ctx" in text


def test_known_options_come_from_the_constructor():
    for name in ("llamacpp", "hf", "vllm", "openai", FAKE_ENGINE):
        params = engine_parameters(engine_class(name))
        assert params and not {"self", "model", "_ignored"} & set(params), name
    fake = engine_class(FAKE_ENGINE)
    assert check_engine_options(FAKE_ENGINE, fake, {"fail_on": "0, 2", "context_length": "none"}) == {
        "fail_on": [0, 2],
        "context_length": None,
    }
    openai = engine_class("openai")
    got = check_engine_options(
        "openai", openai, {"extra_body": '{"top_k": 20}', "timeout": "5", "api_key": "k"}
    )
    assert got == {"extra_body": {"top_k": 20}, "timeout": 5.0, "api_key": "k"}
    # api_key comes from $OPENAI_API_KEY for every command: dropped where the engine has no use for it
    assert check_engine_options(FAKE_ENGINE, fake, {"api_key": "k"}) == {}
    with pytest.raises(InputError, match="Unknown engine option 'n_ctxx'"):
        check_engine_options(FAKE_ENGINE, fake, {"n_ctxx": 1})


def test_fake_engine_with_api_key_runs(bib, tmp_path):
    result = runner.invoke(
        app,
        ["research", "generate", str(bib), "--no-pdf", "-e", FAKE_ENGINE, "--engine-opt", "script=A draft.",
         "--api-key", "X", "-o", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("opt", "needle"),
    [
        (["--dtype", "fp64"], "Unknown dtype 'fp64'. Use one of: auto, float32"),
        (["--device", "bogus"], "Unknown device 'bogus'. Use auto, cpu, cuda"),
        (["--window", "-5"], "--window must be at least 2 tokens, got -5"),
    ],
)
def test_detect_options_refused_before_loading(opt, needle, good_md):
    one_line_error(runner.invoke(app, ["detect", str(good_md), *opt]), needle)


@pytest.fixture
def good_md(bib):
    md = bib.with_suffix(".md")
    md.write_text("# Good\n\nA paragraph of text.\n")
    return md


@pytest.mark.parametrize("where", ["file", "unwritable"])
@pytest.mark.parametrize("command", ["research", "review", "paper export", "evaluate detection"])
def test_output_dir_that_cannot_be_a_folder(command, where, bib, good_md, data_dir, tmp_path):
    out = str(good_md) if where == "file" else "/proc/cycleresearcher-nope/x"  # /proc: even root cannot
    args = {
        "research": ["research", "generate", str(bib), "-e", FAKE_ENGINE, "--no-pdf"],
        "review": ["review", str(good_md), "-e", FAKE_ENGINE],
        "paper export": ["paper", "export", str(data_dir / "paper/generation_full.txt")],
        "evaluate detection": [
            "evaluate",
            "detection",
            str(data_dir / "evaluation/detections.json"),
            "--labels",
            str(data_dir / "evaluation/detect_labels.csv"),
        ],  # fmt: skip
    }[command]
    result = runner.invoke(app, [*args, "-o", out])
    one_line_error(
        result, f"-o {out}: " + ("is a file, not a folder" if where == "file" else "cannot create")
    )


def test_reference_json_with_wrong_author_names(tmp_path):
    for authors, needle in (
        ([{"name": 1}], "author names must be text, not int (1)"),
        (5, "'authors' must be text or a list of names, not int"),
    ):
        path = tmp_path / "refs.json"
        path.write_text(json.dumps({"references": [{"title": "T", "abstract": "A b", "authors": authors}]}))
        one_line_error(
            runner.invoke(app, ["references", "render", str(path)]), "refs.json:references[0]", needle
        )


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("title", 5, "Paper field 'title' must be text, not int"),
        ("latex", {"a": 1}, "Paper field 'latex' must be text, not dict"),
        ("warnings", "w", "Paper field 'warnings' must be a list of text"),
        ("results_simulated", "yes", "Paper field 'results_simulated' must be true or false"),
        ("meta", [1], "Paper field 'meta' must be an object"),
    ],
)
def test_paper_export_with_wrong_typed_fields(field, value, needle, tmp_path):
    path = tmp_path / "paper.json"
    path.write_text(json.dumps({"title": "T", "latex": "x", field: value}))
    result = runner.invoke(app, ["paper", "export", str(path), "-o", str(tmp_path / "o")])
    one_line_error(result, "paper.json: " + needle)


def test_unexpected_error_is_one_line_and_a_redacted_log(bib, tmp_path, monkeypatch):
    from cycleresearcher.research import CycleResearcher

    key = "sk-test-SECRET-123456"

    def broken(self, *args, **kwargs):
        raise RuntimeError(f"boom with {key} inside")  # a bug that happens to quote the key

    monkeypatch.setattr(CycleResearcher, "prepare", broken)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    args = [
        "research",
        "generate",
        str(bib),
        "-e",
        FAKE_ENGINE,
        "--no-pdf",
        "--api-key",
        key,
        "-o",
        str(tmp_path / "o"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    text = result.output.replace("\n", "")
    assert "Unexpected error: RuntimeError: boom with *** inside" in text and key not in text
    assert "Traceback" not in text
    [log] = (tmp_path / "cache/cycleresearcher/logs").iterdir()
    assert str(log) in text and "--debug" in text
    body = log.read_text()
    assert "Traceback" in body and "RuntimeError: boom with *** inside" in body
    assert key not in body
    # --debug: the exception itself escapes to Typer (which prints it, without local variables)
    args[args.index(str(tmp_path / "o"))] = str(tmp_path / "o2")  # a fresh run folder
    result = runner.invoke(app, ["--debug", *args])
    assert isinstance(result.exception, RuntimeError)
    assert app.pretty_exceptions_show_locals is False
