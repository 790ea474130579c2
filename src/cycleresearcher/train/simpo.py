"""One round of preference training with TRL (the only module that imports trl).

SimPO + lambda*NLL (FORMATS.md §6) is ``trl.experimental.cpo.CPOTrainer`` with
``loss_type="simpo"``, ``beta``, ``simpo_gamma`` = gamma and ``cpo_alpha`` = lambda (the NLL term
on the chosen paper). DPO is ``trl.DPOTrainer`` (reference = the round's starting policy; the
NLL term is TRL's "sft" loss with weight lambda).

A round is a *job*: a JSON file (policy dir, pairs, settings) in, a merged checkpoint and
``result.json`` out. The CPU path runs it in-process; multi-GPU / DeepSpeed runs the very same
function under ``accelerate launch -m cycleresearcher.train.simpo JOB.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import require

TRL_VERSION = "1.16.0"  # pinned in the 'train' extra; the CPO/SimPO API moved to trl.experimental in 1.x


@dataclass
class TrainJob:
    policy_dir: str  # what the round starts from (a transformers dir)
    checkpoint_dir: str  # where the merged policy of this round goes (round r+1 samples from it)
    work_dir: str  # trainer scratch (adapter, logs)
    examples: list[dict[str, Any]]  # TRL conversational preference rows
    loss: dict[str, Any]  # LossConfig as a dict
    training: dict[str, Any]  # TrainingConfig as a dict
    seed: int = 0

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> TrainJob:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass
class TrainResult:
    loss: float | None  # mean training loss over the round
    loss_history: list[float] = field(default_factory=list)  # one value per optimiser step
    steps: int = 0
    runtime_s: float = 0.0
    trainer: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hardware(training: dict[str, Any]) -> dict[str, Any]:
    from ..hfmodels import bf16_supported, cuda_devices

    cuda = bool(cuda_devices())
    bf16 = training.get("bf16")
    if bf16 is None:
        bf16 = bf16_supported()
    gc = training.get("gradient_checkpointing")
    if gc is None:
        gc = cuda
    # CPU: no bf16 autocast, no checkpointing (TRL defaults both on), and keep the Trainer off any GPU
    return {"bf16": bool(bf16 and cuda), "gradient_checkpointing": bool(gc and cuda), "use_cpu": not cuda}


def _common_args(job: TrainJob) -> dict[str, Any]:
    t = job.training
    return dict(
        output_dir=str(Path(job.work_dir) / "trainer"),
        learning_rate=t["learning_rate"],
        num_train_epochs=t["epochs"],
        per_device_train_batch_size=t["batch_size"],
        gradient_accumulation_steps=t["gradient_accumulation_steps"],
        warmup_steps=t["warmup_ratio"],  # transformers 5: a float < 1 is a ratio of the total steps
        weight_decay=t["weight_decay"],
        lr_scheduler_type=t["lr_scheduler_type"],
        max_length=t["max_length"],
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=job.seed,
        data_seed=job.seed,
        remove_unused_columns=False,
        disable_tqdm=False,  # True would swap the progress bar for a printed dict per step
        **_hardware(t),
    )


def _peft_config(training: dict[str, Any]) -> Any:
    if not training["lora"]:
        return None
    peft = require("peft", "train", "LoRA training")
    return peft.LoraConfig(
        r=training["lora_r"],
        lora_alpha=training["lora_alpha"],
        lora_dropout=training["lora_dropout"],
        target_modules=training["lora_target_modules"],
        task_type="CAUSAL_LM",
    )


def _build_trainer(job: TrainJob, model: Any, tokenizer: Any, dataset: Any) -> Any:
    loss = job.loss
    if loss["type"] == "simpo":
        cpo = require("trl.experimental.cpo", "train", "SimPO training")
        args = cpo.CPOConfig(
            loss_type="simpo",
            beta=loss["beta"],
            simpo_gamma=loss["gamma"],
            cpo_alpha=loss["nll_weight"],
            **_common_args(job),
        )
        return cpo.CPOTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=_peft_config(job.training),
        )
    trl = require("trl", "train", "DPO training")
    nll = loss["nll_weight"]
    args = trl.DPOConfig(
        loss_type=["sigmoid", "sft"] if nll > 0 else ["sigmoid"],
        loss_weights=[1.0, nll] if nll > 0 else None,
        beta=loss["beta"],
        truncation_mode="keep_start",
        **_common_args(job),
    )
    return trl.DPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=_peft_config(job.training),
    )


def _save_merged(job: TrainJob, trainer: Any, tokenizer: Any) -> None:
    """Write the round's policy as a plain transformers dir (LoRA merged) atomically."""
    transformers = require("transformers", "train")
    saved = Path(job.work_dir) / "saved"
    trainer.save_model(str(saved))  # gathers ZeRO-3 shards / writes the adapter
    if not trainer.accelerator.is_main_process:
        return
    target = Path(job.checkpoint_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".ckpt-"))
    try:
        if job.training["lora"]:
            peft = require("peft", "train")
            base = transformers.AutoModelForCausalLM.from_pretrained(job.policy_dir, dtype="auto")
            merged = peft.PeftModel.from_pretrained(base, str(saved)).merge_and_unload()
            merged.save_pretrained(tmp)
        else:
            for item in saved.iterdir():
                if item.is_file() and not item.name.startswith("training_args"):
                    shutil.copy2(item, tmp / item.name)
        tokenizer.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(saved, ignore_errors=True)


def run_job(job: TrainJob) -> TrainResult:
    """Train one round and write the merged checkpoint; returns (and writes) the losses."""
    require("trl", "train", "preference training")
    datasets = require("datasets", "train")
    transformers = require("transformers", "train")
    from ..hfmodels import resolve_dtype

    transformers.set_seed(job.seed)
    Path(job.work_dir).mkdir(parents=True, exist_ok=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(job.policy_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = resolve_dtype("bf16" if _hardware(job.training)["bf16"] else "float32", "cpu")
    model = transformers.AutoModelForCausalLM.from_pretrained(job.policy_dir, dtype=dtype)
    dataset = datasets.Dataset.from_list(job.examples)
    trainer = _build_trainer(job, model, tokenizer, dataset)
    # the Trainer prints its log dicts on stdout; keep stdout for the CLI's own JSON summary
    with contextlib.redirect_stdout(sys.stderr):
        output = trainer.train()
    history = [float(h["loss"]) for h in trainer.state.log_history if "loss" in h]
    result = TrainResult(
        loss=float(output.training_loss) if history else None,
        loss_history=history,
        steps=int(output.global_step),
        runtime_s=float(output.metrics.get("train_runtime", 0.0)),
        trainer=type(trainer).__name__,
    )
    _save_merged(job, trainer, tokenizer)
    if trainer.accelerator.is_main_process:
        (Path(job.work_dir) / "result.json").write_text(json.dumps(result.to_dict()), encoding="utf-8")
    return result


def launch_accelerate(job_path: Path, accelerate_config: str) -> TrainResult:
    """Run the job under ``accelerate launch`` (all GPUs of the config) and read its result."""
    import subprocess

    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        accelerate_config,
        "-m",
        "cycleresearcher.train.simpo",
        str(job_path),
    ]
    env = dict(os.environ)
    proc = subprocess.run(cmd, env=env, check=False)
    result_path = job_path.parent / "result.json"
    if proc.returncode != 0 or not result_path.exists():
        from ..errors import CycleResearcherError

        raise CycleResearcherError(
            f"Training under accelerate failed (exit {proc.returncode}); see the log above. Command: {' '.join(cmd)}"
        )
    return TrainResult(**json.loads(result_path.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m cycleresearcher.train.simpo JOB.json")
    run_job(TrainJob.load(args[0]))


if __name__ == "__main__":
    main()
