"""The one place that loads torch models: causal LMs with transformers, for the hf engine, the
detector's scorers and training (those run what it loads; only this module asks torch about
devices). A GGUF file is dequantized once into a safetensors cache directory (first load ~25 s,
later loads ~4 s), which is also what TRL and the detector load.

It also holds the few tensor helpers the engines and training need (seeding, inference mode, CUDA
and bf16 checks, dtypes, the grammar's token mask, log-probs), so that torch is imported here and in
``detect.criterion`` only (tests/test_layout.py).

``cuda_available`` (engine choice) and ``cuda_devices`` (``doctor``) answer without importing
torch where the answer is plainly no, so CPU machines stay light.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from .errors import InputError, ModelNotFoundError, require


def cache_root() -> Path:
    root = os.environ.get("CYCLERESEARCHER_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "cycleresearcher"
    )
    return Path(root)


def hf_model_dir(model: str) -> str:
    """A directory/hub id transformers can load. GGUF files are converted (once) to safetensors."""
    if not str(model).lower().endswith(".gguf"):
        return model
    gguf = Path(model).resolve()
    if not gguf.exists():
        raise ModelNotFoundError(f"GGUF file not found: {gguf}")
    stat = gguf.stat()
    tag = hashlib.sha256(f"{gguf}:{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()[:12]
    target = cache_root() / "hf" / f"{gguf.stem}-{tag}"
    if (target / "config.json").exists():
        return str(target)
    transformers = require("transformers", "hf", "loading a GGUF model with transformers")
    tok = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    mdl = transformers.AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # The dequantized weights are plain fp32; drop GGUF/quantization markers so TRL/PEFT accept it.
    # (transformers keeps an hf_quantizer on GGUF-loaded models and then refuses to save them).
    mdl.hf_quantizer = None
    if hasattr(mdl, "is_quantized"):
        mdl.is_quantized = False
    if hasattr(mdl.config, "quantization_config"):
        delattr(mdl.config, "quantization_config")
    mdl.config.dtype = "float32"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        mdl.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        try:
            tmp.rename(target)  # atomic: concurrent converters race harmlessly
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def cuda_devices() -> list[str]:
    """Names of the CUDA devices torch sees; empty when torch is not installed (then not imported)."""
    if not torch_installed():
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def bf16_supported() -> bool:
    """Whether a CUDA device computes in bfloat16 (False without CUDA or without torch)."""
    if not torch_installed():
        return False
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def cuda_available() -> bool:
    """Whether a CUDA device is usable; cheap checks first, so CPU machines never import torch."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return False
    if not (os.path.exists("/proc/driver/nvidia") or os.path.exists("/dev/nvidia0")):
        return False
    return bool(cuda_devices())


#: the --dtype names we accept (torch names and their short forms)
DTYPES = ("auto", "float32", "fp32", "bfloat16", "bf16", "float16", "fp16")
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device(device: str) -> str:
    """``device`` if it is one we can use, else InputError saying which are (no torch import)."""
    if not isinstance(device, str) or not _DEVICE_RE.match(device):
        raise InputError(f"Unknown device {device!r}. Use auto, cpu, cuda, cuda:N (e.g. cuda:1) or mps.")
    return device


def check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise InputError(f"Unknown dtype {dtype!r}. Use one of: {', '.join(DTYPES)}.")
    return dtype


def resolve_device(device: str = "auto") -> str:
    if check_device(device) != "auto":
        if device.startswith("cuda"):
            torch = require("torch", "hf")
            if not torch.cuda.is_available():
                raise InputError(
                    f"--device {device}: no CUDA device is visible here. Use --device cpu or auto."
                )
        return device
    torch = require("torch", "hf")
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str, device: str) -> Any:
    check_dtype(dtype)
    torch = require("torch", "hf")
    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return {
        "float32": torch.float32,
        "fp32": torch.float32,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
        "float16": torch.float16,
        "fp16": torch.float16,
    }[dtype]


def announce_download(model: str) -> bool:
    """Say so (on stderr) before transformers fetches a hub model that is not in the local cache:
    the hub's own progress bars are hidden unless --verbose, and a download of many GB, or the
    minute of retries of an offline machine, would otherwise look like a hang."""
    if Path(model).exists():
        return False
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model, "config.json")
    except Exception:  # not a hub id (a path that does not exist): transformers says what is wrong
        return False
    if isinstance(cached, str):
        return False
    print(
        f"Fetching '{model}' from the Hugging Face hub (not in the local cache); large models take a "
        "while, and --verbose shows the download.",
        file=sys.stderr,
    )
    return True


def load_causal_lm(model: str, device: str = "auto", dtype: str = "auto") -> tuple[Any, Any]:
    """(model, tokenizer) in eval mode on ``device``."""
    transformers = require("transformers", "hf", "the transformers engine")
    path = hf_model_dir(model)
    dev = resolve_device(device)
    announce_download(path)
    try:
        tok = transformers.AutoTokenizer.from_pretrained(path)
        mdl = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=resolve_dtype(dtype, dev))
    except OSError as exc:
        raise ModelNotFoundError(
            f"Could not load '{model}' with transformers ({exc}). Pass a local directory, a .gguf file, or a hub id "
            "that is already in your Hugging Face cache."
        ) from exc
    mdl.to(dev)
    mdl.eval()
    return mdl, tok


def load_tokenizer(model: str, extra: str = "hf") -> Any:
    """The tokenizer of a transformers directory or hub id."""
    transformers = require("transformers", extra)
    return transformers.AutoTokenizer.from_pretrained(model)


def set_transformers_logging(loud: bool) -> None:
    """transformers' log level and progress bars, set through its API when it is already loaded
    (the environment variables only reach a later import)."""
    import sys

    if "transformers" in sys.modules:
        from transformers.utils import logging as tf_logging

        tf_logging.set_verbosity_warning() if loud else tf_logging.set_verbosity_error()
        tf_logging.enable_progress_bar() if loud else tf_logging.disable_progress_bar()


# -- tensor helpers (callers already hold a loaded model, so torch is installed)


def manual_seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def inference_mode() -> Any:
    """``torch.inference_mode()``, a context manager."""
    import torch

    return torch.inference_mode()


@cache
def _bit_shifts() -> Any:
    import torch

    return torch.arange(32, dtype=torch.int32)


def grammar_mask(scores: Any, bitmask: Any, finished: list[bool], eos: int, top_p: float = 1.0) -> Any:
    """``scores`` [rows, vocab] with every token the packed ``bitmask`` (numpy int32 [rows, words],
    32 tokens a word, as llguidance fills it) forbids set to -inf; a finished row, or one whose
    mask allows nothing, may only take ``eos``. Then nucleus filtering when ``top_p`` < 1."""
    import numpy as np
    import torch

    mask = torch.from_numpy(np.ascontiguousarray(bitmask))
    allowed = ((mask.unsqueeze(-1) >> _bit_shifts()) & 1).flatten(1).bool()
    width = min(scores.shape[1], allowed.shape[1])
    allowed = allowed[:, :width].to(scores.device)
    for i, done in enumerate(finished):
        if done or not bool(allowed[i].any()):
            allowed[i, eos] = True
    out = torch.full_like(scores, float("-inf"))
    out[:, :width] = scores[:, :width].masked_fill(~allowed, float("-inf"))
    return top_p_filter(out, top_p) if top_p < 1.0 else out


def top_p_filter(scores: Any, top_p: float) -> Any:
    """Nucleus filtering (as transformers' TopPLogitsWarper): keep the most likely tokens whose
    probabilities sum to ``top_p``, at least one."""
    import torch

    ordered, idx = torch.sort(scores, descending=True)
    cum = ordered.softmax(dim=-1).cumsum(dim=-1)
    drop = cum - ordered.softmax(dim=-1) > top_p  # the mass before a token already reaches top_p
    drop[:, 0] = False
    return scores.masked_fill(drop.scatter(1, idx, drop), float("-inf"))


def mean_logprob(model: Any, prompt: list[int], completion: list[int], device: str) -> float:
    """The mean per-token log-probability of ``completion`` after ``prompt`` (one forward pass)."""
    import torch

    ids = torch.tensor([prompt + completion], device=device)
    with torch.no_grad():
        logits = model(ids, use_cache=False).logits[0, :-1].float()
    targets = ids[0, 1:]
    logps = torch.log_softmax(logits, dim=-1).gather(-1, targets[:, None])[:, 0]
    return float(logps[len(prompt) - 1 :].mean())
