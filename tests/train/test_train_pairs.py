"""The pairing rule (pure) and the config validation."""

from __future__ import annotations

import pytest

from cycleresearcher.errors import ConfigError, InputError
from cycleresearcher.train.config import apply_overrides, from_dict, load_config
from cycleresearcher.train.pairs import ScoredSample, build_pairs


def s(set_id, i, reward, status="ok"):
    return ScoredSample(set_id, i, f"text {set_id} {i}", reward, status)


def test_best_vs_worst_per_set():
    groups = {"a": [s("a", 0, 5.0), s("a", 1, 7.5), s("a", 2, 3.25)], "b": [s("b", 0, 4.0), s("b", 1, 6.0)]}
    out = build_pairs(groups, k=3)
    got = {(p.set_id, p.chosen.index, p.rejected.index, p.gap) for p in out.pairs}
    assert got == {("a", 1, 2, 4.25), ("b", 1, 0, 2.0)}
    assert out.skipped == {}


def test_ties_are_skipped_and_inner_ties_break_by_index():
    groups = {
        "tie": [s("tie", 0, 5.0), s("tie", 1, 5.0), s("tie", 2, 5.0)],
        "inner": [s("inner", 0, 6.0), s("inner", 1, 6.0), s("inner", 2, 1.0), s("inner", 3, 1.0)],
    }
    out = build_pairs(groups, k=4)
    assert out.skipped == {"tie": "tie"}
    (p,) = out.pairs
    assert (p.chosen.index, p.rejected.index) == (0, 2)


def test_min_gap():
    groups = {"small": [s("small", 0, 5.0), s("small", 1, 5.4)], "big": [s("big", 0, 2.0), s("big", 1, 6.0)]}
    out = build_pairs(groups, k=2, min_gap=0.5)
    assert [p.set_id for p in out.pairs] == ["big"]
    assert out.skipped == {"small": "gap"}
    assert out.skipped_counts() == {"gap": 1}


def test_failed_papers_rank_last_and_are_never_chosen():
    groups = {
        "a": [s("a", 0, None, "unparsable"), s("a", 1, 2.0), s("a", 2, 1.5)],
        "all": [s("all", 0, None, "unparsable"), s("all", 1, None, "unrated")],
        "one": [s("one", 0, 3.0), s("one", 1, None, "unrated")],
    }
    out = build_pairs(groups, k=3, failed_reward=0.0)
    by_set = {p.set_id: p for p in out.pairs}
    assert (by_set["a"].chosen.index, by_set["a"].rejected.index) == (1, 0)
    assert by_set["a"].rejected_reward == 0.0 and by_set["a"].gap == 2.0
    assert by_set["one"].rejected.status == "unrated"
    assert out.skipped == {"all": "all_failed"}


def test_too_few_samples_and_rewards_below_the_failure_floor():
    assert build_pairs({"x": [s("x", 0, 4.0)]}, k=3).skipped == {"x": "too_few"}
    with pytest.raises(InputError, match="failed_reward"):
        build_pairs({"x": [s("x", 0, -1.0), s("x", 1, 2.0)]}, k=2, failed_reward=0.0)


def test_k_below_two_is_rejected_clearly():
    with pytest.raises(ConfigError, match="at least two papers"):
        build_pairs({}, k=1)
    with pytest.raises(ConfigError, match=r"sampling.k = 1.*2 or more"):
        from_dict({"data": {"references": "x"}, "sampling": {"k": 1}})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rounds": 0}, "rounds"),
        ({"reward": {"kind": "oracle"}}, "reward.kind"),
        ({"reward": {"kind": "function"}}, "module:function"),
        ({"loss": {"type": "ppo"}}, "loss.type"),
        ({"loss": {"beta": 0}}, "loss.beta"),
        ({"training": {"max_length": 8}}, "max_length"),
        ({"training": {"launcher": "accelerate"}}, "accelerate_config"),
        ({"training": {"warmup_ratio": 1.5}}, "warmup_ratio"),
        ({"training": {"nope": 1}}, "Unknown key"),
        ({"colour": "blue"}, "Unknown config key"),
    ],
)
def test_config_errors_say_the_fix(data, message):
    data = {"data": {"references": "sets"}, **data}
    with pytest.raises(ConfigError, match=message):
        from_dict(data)


def test_toml_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('rounds = 2\n[data]\nreferences = "sets"\n[loss]\nbeta = 2.5\n', encoding="utf-8")
    cfg = load_config(
        path,
        [
            "training.learning_rate=3e-7",
            "sampling.k=4",
            "reward.kind=function",
            'reward.function="m:f"',
            "rounds=3",
        ],
    )
    assert (cfg.rounds, cfg.loss.beta, cfg.training.learning_rate, cfg.sampling.k) == (3, 2.5, 3e-7, 4)
    assert cfg.path(cfg.data.references) == tmp_path / "sets"
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["rounds"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_shipped_example_config_is_valid():
    from pathlib import Path

    cfg = load_config(Path(__file__).parents[2] / "examples" / "cycle_cpu.toml")
    assert cfg.sampling.k >= 2 and cfg.reward.kind == "function"
    assert cfg.path(cfg.data.references).is_dir()


def test_cli_reports_config_errors_in_one_line():
    from pathlib import Path

    from typer.testing import CliRunner

    from cycleresearcher.cli import app

    example = Path(__file__).parents[2] / "examples" / "cycle_cpu.toml"
    result = CliRunner().invoke(app, ["train", str(example), "--set", "sampling.k=1"])
    assert result.exit_code == 2
    assert "sampling.k = 1" in result.output and "2 or more" in result.output
