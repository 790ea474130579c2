"""The ``constrain`` key (config file, --set, or --constrain/--no-constrain) reaches the engine
requests of both steps that generate: sampling the policy and the reward reviews."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cycleresearcher.app.train import config_overrides
from cycleresearcher.errors import ConfigError
from cycleresearcher.paper import parse_paper
from cycleresearcher.prompts import grammars as S
from cycleresearcher.store import RunStore
from cycleresearcher.train.config import load_config
from cycleresearcher.train.rewards import load_reward
from cycleresearcher.train.sampling import load_prompt_sets, sample_round
from support import FAKE_ENGINE
from support.fake_engine import FakeEngine

SETS = Path(__file__).parents[1] / "data" / "train" / "sets"
RELEASED = "WestlakeNLP/CycleResearcher-ML-12B"  # a trained format: auto leaves it unconstrained


def _config(tmp_path: Path, line: str, cli: bool | None = None, policy: str = RELEASED):
    toml = tmp_path / "cycle.toml"
    toml.write_text(
        f'{line}\n[policy]\nmodel = "{policy}"\n[data]\nreferences = {json.dumps(str(SETS))}\nmax_sets = 1\n'
        f"[sampling]\nk = 2\nmax_tokens = 32\n"
        f'[reward]\nkind = "cyclereviewer"\nmodel = "8B"\nengine = "{FAKE_ENGINE}"\n'
    )
    return load_config(toml, config_overrides(None, None, str(tmp_path / "out"), cli))


def _requests(cfg, tmp_path: Path):
    """The sampling request and the reward-review request of one round, as the engines got them."""
    policy = FakeEngine("A paper.")
    with RunStore(tmp_path / "run") as store:
        sample_round(load_prompt_sets(cfg), cfg, 1, "policy-dir", store, lambda: policy)
        reward = load_reward(cfg.reward, cfg.base_dir, store=store, constrain=cfg.constrain)
        reward.score([parse_paper("\\title{T}\\begin{abstract}A.\\end{abstract}")])
        reviewer_engine = reward.reviewer.engine
        reward.close()
    return policy.calls[0].sampling, reviewer_engine.calls[0].sampling


@pytest.mark.parametrize(
    ("line", "cli", "on"),
    [
        ("constrain = true", None, True),
        ("", None, False),
        ("constrain = true", False, False),
        ("", True, True),
    ],
    ids=["file-on", "auto", "cli-off-wins", "cli-on"],
)
def test_constrain_reaches_the_sampling_and_the_reward_requests(tmp_path, line, cli, on):
    cfg = _config(tmp_path, line, cli)
    sampling, review = _requests(cfg, tmp_path)
    # the policy and the reviewer here are released models: auto is off, on is the open profile
    assert sampling.grammar == (S.grammar_for("researcher", "open") if on else None)
    assert sampling.ignore_eos is not on  # a grammar ends the paper itself
    assert review.grammar == (S.grammar_for("cyclereviewer", "open") if on else None)


def test_auto_constrains_the_sampling_of_the_embedded_policy(tmp_path):
    from cycleresearcher.models import embedded_model_path
    from cycleresearcher.train.sampling import sampling_params

    cfg = _config(tmp_path, "", policy="embedded")
    params = sampling_params(cfg, 1, str(embedded_model_path()))
    assert params.grammar == S.grammar_for("researcher", "bounded", S.EMBEDDED_BOUNDS)
    # a later round's checkpoint (a transformers dir) keeps the kind of the policy it started from
    assert sampling_params(cfg, 2, str(tmp_path / "round-1" / "policy")).grammar == params.grammar
    # any model with no trained format is constrained by default too
    other = sampling_params(_config(tmp_path, "", policy="Qwen/Qwen2.5-0.5B-Instruct"), 1, None)
    assert other.grammar == S.grammar_for("researcher", "bounded") and other.grammar_optional


def test_a_constrain_that_is_not_a_boolean_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="constrain = 'yes'"):
        _config(tmp_path, 'constrain = "yes"')
