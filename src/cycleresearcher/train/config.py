"""The cycle's configuration: one TOML file -> typed dataclasses, validated with messages that say
the fix. Sections mirror the loop: [policy] -> [data] -> [sampling] -> [reward] -> [pairing] ->
[loss] -> [training]; top-level keys are ``rounds``, ``output_dir``, ``seed`` and ``constrain``.

CLI overrides are ``section.key=value`` strings (values parsed as TOML, so ``1e-6``, ``true``,
``"text"`` and ``[1, 2]`` all work).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomllib

from ..errors import ConfigError

REWARD_KINDS = ("function", "cyclereviewer", "deepreviewer")
LOSS_TYPES = ("simpo", "dpo")
LAUNCHERS = ("inprocess", "accelerate")


@dataclass
class PolicyConfig:
    #: the model trained in round 0: 'embedded', a local dir, a .gguf file (converted once) or a hub id
    model: str = "embedded"


@dataclass
class DataConfig:
    #: a folder (or one file) of reference sets: each .bib file is one set; each paper-record .json is one
    #: set (its ``messages[0:2]`` are used verbatim when present, else its ``references`` are rendered)
    references: str = ""
    #: optional topic line (FORMATS.md §1) for sets built from .bib files
    topic: str | None = None
    #: use at most this many sets per round (sorted by name); None = all
    max_sets: int | None = None


@dataclass
class SamplingConfig:
    k: int = 3  # papers per reference set and round (the paper uses 3)
    engine: str = "hf"  # samples from the policy dir: hf (CPU), vllm (GPU), ray (docs/cluster.md)
    temperature: float = 0.4
    top_p: float = 0.95
    max_tokens: int = 19000
    ignore_eos: bool = True  # upstream setting: EOS ignored, stopped by \clearpage
    #: None = the researcher's stop strings (\clearpage, \clear, clearpage)
    stop: list[str] | None = None
    engine_options: dict[str, Any] = field(default_factory=dict)  # e.g. {tensor_parallel_size = 4}


@dataclass
class RewardConfig:
    kind: str = "cyclereviewer"  # function | cyclereviewer | deepreviewer
    #: kind = "function": 'package.module:function' or 'path/to/file.py:function' with the shape
    #: (papers, **options) -> list[float | None]
    function: str | None = None
    model: str | None = None  # reviewer: size alias, dir, .gguf, hub id, 'embedded'; None = 8B / 14B
    engine: str | None = None  # reviewer engine (its settings: engine_options); None = chosen from the model
    base_url: str | None = None  # an OpenAI-compatible server serving the reviewer
    options: dict[str, Any] = field(default_factory=dict)  # passed to the function / reviewer
    #: the reviewer engine's settings, checked against that engine (e.g. ray: {workers = 4})
    engine_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class PairingConfig:
    min_gap: float = 0.0  # skip sets whose best-minus-worst reward is below this (ties are always skipped)
    #: True: a paper that fails to parse (no title and no LaTeX) is not scored and gets ``failed_reward``
    require_parse: bool = True
    failed_reward: float = 0.0  # below the reviewers' 1-10 scale: failed papers always rank last


@dataclass
class LossConfig:
    type: str = "simpo"  # simpo (SimPO + lambda*NLL, the paper) | dpo (sigmoid DPO + lambda*NLL)
    beta: float = 2.0
    gamma: float = 0.5  # SimPO target margin (ignored by dpo)
    nll_weight: float = 1.0  # lambda; 0 removes the NLL term (the paper's ablation: quality collapses)


@dataclass
class TrainingConfig:
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: list[str] | str = "all-linear"
    learning_rate: float = 1e-6
    epochs: float = 1.0
    batch_size: int = 1  # per device
    gradient_accumulation_steps: int = 1
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    lr_scheduler_type: str = "linear"
    #: tokens of prompt + completion; longer pairs keep the head of each completion (counted in the report);
    #: a pair whose prompt alone leaves fewer than ``min_completion_tokens`` is dropped (counted)
    max_length: int = 32768
    min_completion_tokens: int = 16
    gradient_checkpointing: bool | None = None  # None = on for GPUs, off on CPU
    bf16: bool | None = None  # None = on where the GPU supports it, off on CPU
    launcher: str = "inprocess"  # inprocess | accelerate (a subprocess per round, for multi-GPU / DeepSpeed)
    accelerate_config: str | None = None  # e.g. configs/accelerate/deepspeed_zero3.yaml
    compute_margins: bool = True  # margin_before / margin_after with a plain forward pass
    margin_device: str = "auto"


@dataclass
class CycleConfig:
    rounds: int = 1
    output_dir: str = "runs/train"
    seed: int = 0
    #: grammar-constrained structure for the sampling and the reward reviews; None = auto, as in
    #: ``research generate`` / ``review``: on for the embedded model, off for any other
    constrain: bool | None = None
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    data: DataConfig = field(default_factory=DataConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    pairing: PairingConfig = field(default_factory=PairingConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    #: where the TOML file lives; relative paths in the file are resolved against it
    base_dir: str = "."

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        def bad(msg: str) -> None:
            raise ConfigError(msg)

        if self.constrain not in (None, True, False):
            bad(f"constrain = {self.constrain!r}: use true, false, or leave it out (auto).")
        if self.rounds < 1:
            bad(f"rounds = {self.rounds}: set rounds to 1 or more (top level of the TOML, or --rounds).")
        s, p, lo, t, r = self.sampling, self.pairing, self.loss, self.training, self.reward
        if s.k < 2:
            bad(
                f"sampling.k = {s.k}: preference pairs need at least two papers per reference set. "
                "Set sampling.k to 2 or more (the paper uses 3)."
            )
        if s.max_tokens < 1:
            bad(f"sampling.max_tokens = {s.max_tokens}: set it to 1 or more.")
        if not 0 < s.top_p <= 1:
            bad(f"sampling.top_p = {s.top_p}: use a value in (0, 1], e.g. 0.95.")
        if s.temperature <= 0:
            bad(f"sampling.temperature = {s.temperature}: k samples of one prompt must differ; use e.g. 0.4.")
        if r.kind not in REWARD_KINDS:
            bad(f"reward.kind = '{r.kind}': choose one of {', '.join(REWARD_KINDS)}.")
        if r.kind == "function" and (not r.function or ":" not in r.function):
            bad(
                "reward.kind = 'function' needs reward.function = 'package.module:function' (or "
                "'path/to/file.py:function'), a function (papers, **options) -> list[float]."
            )
        both = sorted(set(r.options) & set(r.engine_options))
        if both:
            bad(f"reward.options and reward.engine_options both set {', '.join(both)}: keep each key in one.")
        if r.engine_options and r.kind == "function":
            bad("reward.engine_options is for a reviewer reward (kind cyclereviewer / deepreviewer).")
        if p.min_gap < 0:
            bad(f"pairing.min_gap = {p.min_gap}: use 0 (any strict difference) or a positive reward gap.")
        if lo.type not in LOSS_TYPES:
            bad(f"loss.type = '{lo.type}': choose simpo (SimPO + NLL, as in the paper) or dpo.")
        if lo.beta <= 0:
            bad(f"loss.beta = {lo.beta}: use a positive value (SimPO: 2.0-2.5; DPO: ~0.1).")
        if lo.nll_weight < 0:
            bad(f"loss.nll_weight = {lo.nll_weight}: use 0 (no NLL term) or a positive weight (paper: 1.0).")
        if t.learning_rate <= 0:
            bad(f"training.learning_rate = {t.learning_rate}: use a positive value (SimPO: 3e-7 to 1e-6).")
        if t.epochs <= 0 or t.batch_size < 1 or t.gradient_accumulation_steps < 1:
            bad("training.epochs must be > 0 and training.batch_size / gradient_accumulation_steps >= 1.")
        if not 0 <= t.warmup_ratio < 1:
            bad(f"training.warmup_ratio = {t.warmup_ratio}: use a share of the steps in [0, 1), e.g. 0.1.")
        if t.max_length < t.min_completion_tokens + 1 or t.min_completion_tokens < 1:
            bad(
                f"training.max_length = {t.max_length} leaves no room for a completion: make it larger than "
                f"training.min_completion_tokens = {t.min_completion_tokens} (and that one >= 1)."
            )
        if t.lora and t.lora_r < 1:
            bad(f"training.lora_r = {t.lora_r}: use 1 or more (e.g. 16), or set training.lora = false.")
        if t.launcher not in LAUNCHERS:
            bad(f"training.launcher = '{t.launcher}': choose inprocess or accelerate.")
        if t.launcher == "accelerate" and not t.accelerate_config:
            bad(
                "training.launcher = 'accelerate' needs training.accelerate_config, e.g. "
                "'configs/accelerate/multi_gpu.yaml' or 'configs/accelerate/deepspeed_zero3.yaml'."
            )
        if not self.data.references:
            bad(
                "data.references is empty: point it at a folder of .bib / paper-record .json files (one set per file)."
            )
        if self.data.max_sets is not None and self.data.max_sets < 1:
            bad(f"data.max_sets = {self.data.max_sets}: use 1 or more, or remove it to use every set.")

    # -- paths ------------------------------------------------------------------------------
    def path(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_SECTIONS: dict[str, type] = {
    "policy": PolicyConfig,
    "data": DataConfig,
    "sampling": SamplingConfig,
    "reward": RewardConfig,
    "pairing": PairingConfig,
    "loss": LossConfig,
    "training": TrainingConfig,
}
_TOP = {"rounds", "output_dir", "seed", "constrain"}


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word: take it as a string


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` (or ``rounds=2``) overrides to raw TOML data."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"Override '{item}' is not key=value; write e.g. training.learning_rate=1e-6")
        parts = key.strip().split(".")
        target = data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(f"Override '{item}': '{part}' is not a section")
        target[parts[-1]] = _parse_value(value.strip())
    return data


def from_dict(data: dict[str, Any], base_dir: str | Path = ".") -> CycleConfig:
    """Build a validated config from raw (TOML) data; unknown keys are errors that list the valid ones."""
    kwargs: dict[str, Any] = {"base_dir": str(base_dir)}
    for key, value in data.items():
        if key in _TOP:
            kwargs[key] = value
        elif key in _SECTIONS:
            cls = _SECTIONS[key]
            if not isinstance(value, dict):
                raise ConfigError(f"[{key}] must be a table (a TOML section), got {value!r}")
            names = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - names)
            if unknown:
                raise ConfigError(
                    f"Unknown key(s) in [{key}]: {', '.join(unknown)}. Valid keys: {', '.join(sorted(names))}"
                )
            kwargs[key] = cls(**value)
        else:
            valid = sorted(_TOP | set(_SECTIONS))
            raise ConfigError(
                f"Unknown config key '{key}'. Valid top-level keys and sections: {', '.join(valid)}"
            )
    try:
        return CycleConfig(**kwargs)
    except TypeError as exc:  # wrong value types that dataclasses cannot catch early
        raise ConfigError(f"Invalid config: {exc}") from exc


def load_config(path: str | Path, overrides: list[str] | None = None) -> CycleConfig:
    """Read a TOML config, apply CLI overrides, validate."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Config file not found: {p}. Start from examples/cycle_cpu.toml.")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}") from exc
    apply_overrides(data, list(overrides or []))
    return from_dict(data, base_dir=p.parent)
