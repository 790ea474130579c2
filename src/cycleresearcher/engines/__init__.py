"""Engine registry: names map to "module:Class" strings imported on first use, so importing this
package (or running ``cycleresearcher --help``) never loads torch, llama_cpp or vllm.

Adding an engine = one new module + one line in ``ENGINES``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

from ..errors import InputError
from .base import ChatRequest, Completion, Engine, GenerationResult, Message, SamplingParams

ENGINES: dict[str, str] = {
    "llamacpp": "cycleresearcher.engines.llamacpp:LlamaCppEngine",
    "hf": "cycleresearcher.engines.hf:HFEngine",
    "vllm": "cycleresearcher.engines.vllm:VLLMEngine",
    "openai": "cycleresearcher.engines.openai_compat:OpenAIEngine",
    "fake": "cycleresearcher.engines.fake:FakeEngine",
    "ray": "cycleresearcher.engines.ray_engine:RayEngine",
}

__all__ = [
    "ENGINES",
    "ChatRequest",
    "Completion",
    "Engine",
    "GenerationResult",
    "Message",
    "SamplingParams",
    "choose_engine",
    "create_engine",
    "engine_class",
    "load_engine",
]


def engine_class(name: str) -> type[Engine]:
    if name not in ENGINES:
        raise InputError(f"Unknown engine '{name}'. Choose one of: {', '.join(sorted(ENGINES))}")
    module, _, cls = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def _cuda_available() -> bool:
    # Cheap checks first so that CPU machines never import torch just to decide.
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return False
    if not (os.path.exists("/proc/driver/nvidia") or os.path.exists("/dev/nvidia0")):
        return False
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def choose_engine(model: str | None, engine: str | None = None, base_url: str | None = None) -> str:
    """Pick an engine: explicit choice > --base-url (openai) > GGUF/embedded (llamacpp) >
    CUDA with vllm installed (vllm) > transformers (hf)."""
    if engine:
        if engine not in ENGINES:
            raise InputError(f"Unknown engine '{engine}'. Choose one of: {', '.join(sorted(ENGINES))}")
        return engine
    if base_url:
        return "openai"
    if model is None or model == "embedded" or str(model).lower().endswith(".gguf"):
        return "llamacpp"
    if importlib.util.find_spec("vllm") is not None and _cuda_available():
        return "vllm"
    return "hf"


def load_engine(name: str, model: str | None = None, **kwargs: Any) -> Engine:
    """Instantiate engine ``name`` for ``model`` (a path, a hub id, or None for the embedded model)."""
    from .options import check_engine_options

    cls = engine_class(name)
    kwargs = check_engine_options(name, cls, kwargs)
    if name == "fake":
        return cls(**kwargs)
    return cls(model=model, **kwargs)


def create_engine(
    model: str | None = None,
    engine: str | None = None,
    base_url: str | None = None,
    family: str = "researcher",
    notice: bool = True,
    **kwargs: Any,
) -> Engine:
    """The one entry point the API and CLI use: resolve a size alias / the embedded model, choose
    the engine, and load it. Prints a one-line notice when the tiny embedded stand-in is used.

    ``kwargs`` go to the engine (e.g. ``api_key``, ``n_ctx``, ``tensor_parallel_size``).
    """
    from ..models import embedded_notice, is_embedded, resolve_model

    name = choose_engine(model, engine, base_url)
    if name == "openai":
        # a server serves its own model name; aliases still map to the released ids
        resolved = resolve_model(model, family) if model and model != "embedded" else (model or "")
        return load_engine(name, model=resolved, base_url=base_url, **kwargs)
    resolved = resolve_model(model, family)
    if notice and is_embedded(model):
        import sys

        print(f"Notice: {embedded_notice(family)}", file=sys.stderr)
    return load_engine(name, model=resolved, **kwargs)
