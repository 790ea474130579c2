"""One real round on the embedded SmolLM2-135M with LoRA (slow tier): hf-engine sampling from the
converted GGUF, SimPO + NLL, LoRA merged into the round's checkpoint, which then loads and samples."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import fmean

import pytest

DATA = Path(__file__).parents[1] / "data" / "train"


@pytest.mark.slow
def test_one_lora_round_on_the_embedded_model(tmp_path, embedded_hf_dir):
    from cycleresearcher.engines import ChatRequest, SamplingParams, create_engine
    from cycleresearcher.train.config import from_dict
    from cycleresearcher.train.rounds import run_cycle

    cfg = from_dict(
        {
            "rounds": 1,
            "output_dir": str(tmp_path / "run"),
            "policy": {"model": "embedded"},
            "data": {"references": str(DATA / "sets"), "max_sets": 2},
            "sampling": {"k": 2, "max_tokens": 12, "temperature": 1.0, "stop": []},
            "reward": {"kind": "function", "function": str(DATA / "reward_fn.py") + ":vowel_reward"},
            "pairing": {"require_parse": False},
            "training": {
                "lora": True,
                "lora_r": 8,
                "lora_alpha": 16,
                "learning_rate": 5e-4,
                "epochs": 3,
                "max_length": 512,
            },
        }
    )
    (report,) = run_cycle(cfg)
    assert report["policy"] == embedded_hf_dir
    assert report["pairs"] == 2 and report["loss_type"] == "simpo"
    hist = report["loss_history"]
    assert len(hist) == 6 and fmean(hist[-2:]) < fmean(hist[:2])
    assert report["margin_after"] > report["margin_before"]
    ckpt = Path(report["checkpoint"])
    assert not (ckpt / "adapter_config.json").exists()  # merged, a plain transformers dir
    assert json.loads((tmp_path / "run" / "round_1" / "report.json").read_text())["pairs"] == 2
    engine = create_engine(model=str(ckpt), engine="hf", notice=False)
    try:
        res = engine.generate(
            [
                ChatRequest(
                    [{"role": "user", "content": "Hello"}], SamplingParams(max_tokens=4, temperature=0.0)
                )
            ]
        )
    finally:
        engine.close()
    assert res[0].ok and res[0].completions[0].completion_tokens >= 1
