"""Library noise stays out of the user's output unless --verbose: real runs of the CLI in a child
process (as a user runs it) that load llama.cpp, transformers and TRL, with and without -v."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from cycleresearcher.cli import _noise

ROOT = Path(__file__).resolve().parent.parent.parent
REFS = ROOT / "examples" / "references.bib"
TRAIN_DATA = ROOT / "tests" / "data" / "train"

TRANSFORMERS_NOISE = ("Loading weights", "Writing model shards")
LLAMA_NOISE = ("llama_context", "llama_model_loader", "n_ctx_train")
TRAIN_NOISE = (*TRANSFORMERS_NOISE, "Map:", "FutureWarning", "TRLExperimentalWarning", "trl.experimental")


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory, embedded_hf_dir) -> str:
    """transformers loads it in a second (and prints its loading bar); the references prompt does not fit."""
    from support.tiny_llama import save_tiny_llama

    return save_tiny_llama(embedded_hf_dir, Path(tmp_path_factory.mktemp("tiny")) / "policy")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _noise.ENV and k != "CYCLERESEARCHER_VERBOSE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "cycleresearcher.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


def _noise_in(text: str, patterns: tuple[str, ...]) -> list[str]:
    return [p for p in patterns if p in text]


@pytest.mark.slow
def test_llamacpp_load_log_only_with_verbose(tmp_path):
    """n_ctx=256: the engine loads, the prompt does not fit, the command stops (exit 2)."""
    args = ["research", "generate", str(REFS), "--engine-opt", "n_ctx=256", "--no-pdf"]
    quiet = _cli(*args, "-o", "q", cwd=tmp_path)
    loud = _cli(*args, "-o", "v", "--verbose", cwd=tmp_path)
    for res in (quiet, loud):
        assert res.returncode == 2, res.stderr[-2000:]
        assert "takes 1" in res.stderr and "tokens but the model's context leaves" in res.stderr
    assert _noise_in(quiet.stdout + quiet.stderr, LLAMA_NOISE) == []
    assert _noise_in(loud.stderr, LLAMA_NOISE) == list(LLAMA_NOISE)


@pytest.mark.slow
def test_transformers_loading_bars_only_with_verbose(tmp_path, tiny_llama):
    args = ["research", "generate", str(REFS), "--engine", "hf", "--model", tiny_llama, "--no-pdf"]
    quiet = _cli(*args, "-o", "q", cwd=tmp_path)
    loud = _cli("-v", *args, "-o", "v", cwd=tmp_path)
    for res in (quiet, loud):
        assert res.returncode == 2, res.stderr[-2000:]
        assert "tokens but the model's context leaves" in res.stderr
    assert _noise_in(quiet.stdout + quiet.stderr, TRANSFORMERS_NOISE) == []
    assert "Loading weights" in loud.stderr


def _train_config(tmp_path: Path, policy: str, out: str) -> Path:
    sets = tmp_path / "sets"
    sets.mkdir(exist_ok=True)
    (sets / "one.json").write_text((TRAIN_DATA / "sets" / "graph_sparsity.json").read_text())
    cfg = tmp_path / f"{out}.toml"
    cfg.write_text(
        f"""rounds = 1
output_dir = {json.dumps(str(tmp_path / out))}
[policy]
model = {json.dumps(policy)}
[data]
references = {json.dumps(str(sets))}
[sampling]
k = 2
engine = "hf"
max_tokens = 4
stop = []
[reward]
kind = "function"
function = {json.dumps(str(TRAIN_DATA / "reward_fn.py") + ":vowel_reward")}
[pairing]
require_parse = false
min_gap = 0.0
[loss]
type = "simpo"
[training]
lora = false
epochs = 1
max_length = 128
""",
        encoding="utf-8",
    )
    return cfg


@pytest.mark.slow
def test_train_prints_no_library_noise_without_verbose(tmp_path, tiny_llama):
    quiet = _cli("train", str(_train_config(tmp_path, tiny_llama, "q")), cwd=tmp_path)
    loud = _cli("train", str(_train_config(tmp_path, tiny_llama, "v")), "-v", cwd=tmp_path)
    for res in (quiet, loud):
        assert res.returncode in (0, 3), res.stderr[-3000:]  # 3: the two samples tied, no pair
        assert "round 1: sampled 2 papers" in res.stderr
    assert _noise_in(quiet.stdout + quiet.stderr, TRAIN_NOISE) == []
    assert "Loading weights" in loud.stderr
    if quiet.returncode == 0:  # a pair was trained: TRL was imported, and said so with -v
        assert "TRLExperimentalWarning" in loud.stderr


# -- the switch itself, in this process -----------------------------------------------------------


def test_apply_sets_and_undoes_only_its_own_settings(monkeypatch):
    for key in _noise.ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "info")  # the user's own choice
    monkeypatch.delenv("CYCLERESEARCHER_VERBOSE", raising=False)
    try:
        _noise.apply(False)
        assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
        assert os.environ["TRL_EXPERIMENTAL_SILENCE"] == "1"
        assert os.environ["TRANSFORMERS_VERBOSITY"] == "info"
        assert not _noise.verbose()
        _noise.apply(True)
        assert "HF_HUB_DISABLE_PROGRESS_BARS" not in os.environ
        assert os.environ["TRANSFORMERS_VERBOSITY"] == "info"
        assert _noise.verbose()
        assert _noise.engine_options("llamacpp") == {"verbose": True}
        assert _noise.engine_options("openai") == {}
    finally:
        _noise.apply(False)


def test_the_hubs_retry_lines_only_with_verbose():
    """A hub download that fails offline logs "Retrying in 8s [Retry 5/5]" lines at WARNING; our
    error that follows says what happened, so without --verbose they are not shown."""
    import logging

    import huggingface_hub  # noqa: F401  (loaded, as it is after a model load)

    hub = logging.getLogger("huggingface_hub")
    try:
        _noise.apply(False)
        assert not hub.isEnabledFor(logging.WARNING) and hub.isEnabledFor(logging.ERROR)
        _noise.apply(True)
        assert hub.isEnabledFor(logging.WARNING)
    finally:
        _noise.apply(False)


def test_library_warnings_filtered_ours_kept():
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            _noise.apply(False)
            warnings.warn_explicit("lib", FutureWarning, "t.py", 1, module="transformers.training_args")
            warnings.warn_explicit("lib", UserWarning, "t.py", 1, module="trl.trainer")
            warnings.warn_explicit("ours", FutureWarning, "c.py", 1, module="cycleresearcher.research")
            assert [str(w.message) for w in seen] == ["ours"]
            _noise.apply(True)
            warnings.warn_explicit("lib again", FutureWarning, "t.py", 2, module="transformers.training_args")
            assert [str(w.message) for w in seen] == ["ours", "lib again"]
    finally:
        _noise.apply(False)
