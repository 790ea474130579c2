"""GPU smoke check of the code paths that only run on CUDA (run on a GPU machine; not part of CI).

No model can be downloaded there, so a tiny random Llama is built on the spot with the embedded
model's tokenizer (carried as files). It checks, on the GPU:

1. the transformers engine with device/dtype auto (bf16), n samples, stop strings, batching;
2. the Fast-DetectGPT criterion in bf16 on the GPU against fp32 on the GPU and fp32 on the CPU;
3. one training round of the cycle (sampling with the hf engine, SimPO + NLL with TRL in bf16 with
   gradient checkpointing, LoRA merge, margins before/after), in process and under
   ``accelerate launch`` with the repo's multi-GPU config cut to one process.

    python scripts/gpu_smoke.py --tokenizer DIR --out DIR
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def build_tiny(tokenizer_dir: str, out: Path) -> str:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    path = out / "tiny"
    LlamaForCausalLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def check_engine(model: str) -> dict:
    from cycleresearcher.engines.base import ChatRequest, SamplingParams
    from cycleresearcher.engines.hf import HFEngine

    engine = HFEngine(model=model)
    reqs = [
        ChatRequest(
            messages=[{"role": "user", "content": f"Write a title about topic {i}."}],
            sampling=SamplingParams(max_tokens=24, n=2, seed=None, temperature=0.7, stop=["\n\n"]),
        )
        for i in range(3)
    ]
    t = time.perf_counter()
    res = engine.generate(reqs)
    return {
        "describe": engine.describe(),
        "device": str(next(engine.model.parameters()).device),
        "dtype": str(next(engine.model.parameters()).dtype),
        "ok": [r.ok for r in res],
        "samples": [len(r.completions) for r in res],
        "errors": [r.error for r in res if r.error],
        "seconds": round(time.perf_counter() - t, 2),
    }


def check_detector(model: str) -> dict:
    from cycleresearcher.detect import AIDetector

    text = (
        "We study how attention layers in transformers allocate capacity across long documents. "
        "Our analysis shows that a small number of heads carry most of the retrieval signal, "
        "and that pruning the rest changes perplexity by less than one percent on three benchmarks. "
    ) * 6
    out = {}
    import torch

    gpu = "cuda" if torch.cuda.is_available() else "cpu"  # a CPU dry run compares cpu with itself
    for name, device, dtype in (
        ("cuda_bf16", gpu, "bf16"),
        ("cuda_fp32", gpu, "fp32"),
        ("cpu_fp32", "cpu", "fp32"),
    ):
        det = AIDetector(scoring_model=model, device=device, dtype=dtype, calibration="none")
        d = det.detect_text(text)
        out[name] = {"criterion": d.criterion, "n_tokens": d.n_tokens}
    out["abs_diff_bf16_vs_fp32"] = abs(out["cuda_bf16"]["criterion"] - out["cuda_fp32"]["criterion"])
    out["abs_diff_cuda_vs_cpu_fp32"] = abs(out["cuda_fp32"]["criterion"] - out["cpu_fp32"]["criterion"])
    return out


def check_train(model: str, out: Path, repo: Path, launcher: str = "inprocess") -> dict:
    out.mkdir(parents=True, exist_ok=True)
    extra = ""
    if launcher == "accelerate":
        # the repo's multi-GPU config, cut to the one GPU of a smoke machine
        acc = out / "accelerate_1gpu.yaml"
        acc.write_text(
            (repo / "configs" / "accelerate" / "multi_gpu.yaml")
            .read_text()
            .replace("num_processes: 8", "num_processes: 1")
        )
        extra = f'launcher = "accelerate"\naccelerate_config = "{acc}"\n'

    cfg = out / "cycle_gpu.toml"
    cfg.write_text(
        f"""
rounds = 1
output_dir = "{out / "cycle"}"
seed = 0
[policy]
model = "{model}"
[data]
references = "{repo / "examples" / "cycle_data"}"
[sampling]
k = 3
engine = "hf"
temperature = 0.9
top_p = 0.95
max_tokens = 48
ignore_eos = true
[reward]
kind = "function"
function = "cycleresearcher.train.rewards:structure_reward"
[pairing]
min_gap = 0.0
require_parse = false
failed_reward = 0.0
[loss]
type = "simpo"
beta = 2.0
gamma = 0.5
nll_weight = 1.0
[training]
lora = true
lora_r = 8
lora_alpha = 16
learning_rate = 1e-3
epochs = 3
batch_size = 1
max_length = 2048
"""
        + extra
    )
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "cycleresearcher.cli", "train", str(cfg), "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=420,
    )
    report_path = out / "cycle" / "round_1" / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return {
        "returncode": proc.returncode,
        "seconds": round(time.perf_counter() - t, 1),
        "stderr_tail": proc.stderr[-1500:] if proc.returncode else "",
        "report": report,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*", default=None, help="run only these checks (by name)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import torch

    result: dict = {
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    model = build_tiny(args.tokenizer, Path("/tmp"))
    for name, fn in (
        ("engine_hf", lambda: check_engine(model)),
        ("detector", lambda: check_detector(model)),
        (
            "train_round",
            lambda: check_train(model, Path("/tmp/gpu_train"), Path(__file__).resolve().parent.parent),
        ),
        (
            "train_round_accelerate",
            lambda: check_train(
                model, Path("/tmp/gpu_train_acc"), Path(__file__).resolve().parent.parent, "accelerate"
            ),
        ),
    ):
        if args.only and name not in args.only:
            continue
        try:
            result[name] = fn()
        except Exception as exc:  # report every stage even when one fails
            import traceback

            result[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-2000:]}
        print(json.dumps({name: result[name]}, indent=1, default=str), flush=True)
    (out / "gpu_smoke.json").write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
