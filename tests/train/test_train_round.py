"""A full round of the cycle on CPU with a tiny random Llama (built here, with the embedded model's
tokenizer): sampling through the real hf engine, a deterministic text-feature reward, SimPO + NLL
with TRL, merged checkpoint, report. The first run is SIGKILLed inside the reward step and resumed."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from statistics import fmean

import pytest

from cycleresearcher.store import RunStore

DATA = Path(__file__).parents[1] / "data" / "train"
sys.path.insert(0, str(DATA))
from reward_fn import vowel_reward  # noqa: E402


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory, embedded_hf_dir) -> str:
    from support.tiny_llama import save_tiny_llama

    return save_tiny_llama(embedded_hf_dir, Path(tmp_path_factory.mktemp("tiny")) / "policy")


def _config(tmp: Path, policy: str, rounds: int) -> Path:
    text = f"""
rounds = {rounds}
output_dir = {json.dumps(str(tmp / "run"))}
seed = 0
[policy]
model = {json.dumps(policy)}
[data]
references = {json.dumps(str(DATA / "sets"))}
[sampling]
k = 3
engine = "hf"
temperature = 1.0
top_p = 1.0
max_tokens = 16
stop = []
[reward]
kind = "function"
function = {json.dumps(str(DATA / "reward_fn.py") + ":vowel_reward_or_die")}
options = {{ kill_marker = {json.dumps(str(tmp / "killed"))} }}
[pairing]
require_parse = false
[loss]
type = "simpo"
beta = 2.0
gamma = 0.5
nll_weight = 1.0
[training]
lora = false
learning_rate = 1e-3
epochs = 3
max_length = 256
"""
    path = tmp / "cycle.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cycle(tmp_path_factory, tiny_llama):
    from cycleresearcher.train.config import load_config
    from cycleresearcher.train.rounds import Hooks, _default_engine, run_cycle

    tmp = tmp_path_factory.mktemp("cycle")
    cfg_path = _config(tmp, tiny_llama, rounds=2)
    # 1) the real CLI, killed with SIGKILL inside round 1's reward step (after sampling was stored)
    proc = subprocess.run(
        [sys.executable, "-c", "from cycleresearcher.cli import main; main()", "train", str(cfg_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert (tmp / "killed").exists() and not (tmp / "run" / "round_1" / "report.json").exists()
    # 2) resume in-process, counting the sampling engines that get loaded
    created: list[str] = []

    def make_engine(policy, cfg):
        created.append(policy)
        return _default_engine(policy, cfg)

    cfg = load_config(cfg_path)
    reports = run_cycle(cfg, Hooks(make_engine=make_engine))
    return {"tmp": tmp, "cfg": cfg, "reports": reports, "created": created, "policy": tiny_llama}


def test_killed_round_resumes_without_resampling(cycle):
    # round 1's samples were stored before the kill: only round 2 loads an engine
    assert cycle["created"] == [str(cycle["tmp"] / "run" / "round_1" / "checkpoint")]
    with RunStore(cycle["tmp"] / "run") as store:
        rows = store.request_rows("train.sample")
    assert len(rows) == 6 and all(r["status"] == "done" and r["attempts"] == 1 for r in rows)


def test_pairs_follow_the_known_rewards(cycle):
    con = sqlite3.connect(cycle["tmp"] / "run" / "run.sqlite")
    rows = con.execute("SELECT payload, result FROM requests WHERE stage = 'train.sample'").fetchall()
    r1 = {}
    for payload, result in rows:
        p = json.loads(payload)
        if p["sampling"]["seed"] == 1:  # round 1 samples with seed + 1
            r1[p["request_id"]] = [c["text"] for c in json.loads(result)["completions"]]
    assert sorted(r1) == ["graph_sparsity.json", "reward_shaping.json", "tabular_drift.json"]
    report = cycle["reports"][0]
    expected = []
    for set_id, texts in sorted(r1.items()):

        class P:  # what the reward function reads
            def __init__(self, t):
                self.generated_text = t

        rewards = vowel_reward([P(t) for t in texts])
        for i, r in enumerate(rewards):
            assert report["rewards"]["per_paper"][f"{set_id}:{i}"] == r
        best = max(range(3), key=lambda i: rewards[i])
        worst = min(range(3), key=lambda i: rewards[i])
        if rewards[best] > rewards[worst]:
            expected.append((set_id, best, worst, rewards[best] - rewards[worst]))
    got = [(d["set_id"], d["chosen_index"], d["rejected_index"], d["gap"]) for d in report["pair_details"]]
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    assert report["pairs"] == len(expected) >= 2
    assert report["reward_margin"] == pytest.approx(fmean(e[3] for e in expected), abs=1e-5)


def test_loss_goes_down_and_margin_grows(cycle):
    for report in cycle["reports"]:
        hist = report["loss_history"]
        n = report["pairs"]
        assert len(hist) == 3 * n  # 3 epochs, batch 1
        assert fmean(hist[-n:]) < fmean(hist[:n])
        assert report["margin_after"] > report["margin_before"]
        assert report["loss"] == pytest.approx(fmean(hist), rel=1e-4)
        assert report["truncated_pairs"] == 0 and report["dropped_pairs"] == []


def test_checkpoints_reload_and_chain(cycle, tiny_llama):
    import torch
    from transformers import AutoModelForCausalLM

    run = cycle["tmp"] / "run"
    r1, r2 = cycle["reports"]
    assert r1["policy"] == tiny_llama
    assert r2["policy"] == r1["checkpoint"] == str(run / "round_1" / "checkpoint")
    base = AutoModelForCausalLM.from_pretrained(tiny_llama)
    ckpt = AutoModelForCausalLM.from_pretrained(r1["checkpoint"])
    changed = [
        n
        for (n, a), (_, b) in zip(base.named_parameters(), ckpt.named_parameters(), strict=False)
        if not torch.equal(a, b)
    ]
    assert changed, "training did not change the weights"
    summary = json.loads((run / "summary.json").read_text())
    assert [r["round"] for r in summary["rounds"]] == [1, 2]
    assert summary["final_policy"] == r2["checkpoint"]
    assert (run / "rewards.png").stat().st_size > 1000


def test_finished_rounds_are_not_recomputed(cycle):
    from cycleresearcher.train.rounds import Hooks, run_cycle

    def no_engine(policy, cfg):
        raise AssertionError("a finished round must not sample again")

    again = run_cycle(cycle["cfg"], Hooks(make_engine=no_engine))
    assert [r["round"] for r in again] == [1, 2]
    assert again[1]["margin_after"] == cycle["reports"][1]["margin_after"]
