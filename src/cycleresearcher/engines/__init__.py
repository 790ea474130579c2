"""Engine registry: names map to "module:Class" strings imported on first use, so importing this
package (or running ``cycleresearcher --help``) never loads torch, llama_cpp or vllm.

Adding an engine = one new module + one line in ``ENGINES``. An engine of one's own needs no line:
``--engine mypkg.engines:MyEngine`` (any importable module, an ``Engine`` subclass whose
constructor takes ``model=`` and that implements ``_generate(batch)``) is imported the same way.
Engines know no model family: ``create_engine`` (``models.session``) resolves names first.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from ..errors import InputError
from .base import Batch, ChatRequest, Completion, Engine, GenerationResult, Message, SamplingParams

ENGINES: dict[str, str] = {
    "llamacpp": "cycleresearcher.engines.llamacpp:LlamaCppEngine",
    "hf": "cycleresearcher.engines.hf:HFEngine",
    "vllm": "cycleresearcher.engines.vllm:VLLMEngine",
    "openai": "cycleresearcher.engines.openai_compat:OpenAIEngine",
    "ray": "cycleresearcher.engines.ray_engine:RayEngine",
}

__all__ = [
    "ENGINES",
    "Batch",
    "ChatRequest",
    "Completion",
    "Engine",
    "GenerationResult",
    "Message",
    "SamplingParams",
    "choose_engine",
    "create_engine",
    "engine_class",
    "engine_spec",
    "load_engine",
]


def engine_spec(name: str) -> str:
    """The ``module:Class`` string of a registered name, or ``name`` itself when it is one."""
    if name in ENGINES:
        return ENGINES[name]
    module, sep, attr = name.partition(":")
    if not sep or not module.strip() or not attr.strip():
        raise InputError(
            f"Unknown engine '{name}'. Choose one of: {', '.join(sorted(ENGINES))}, "
            "or name an engine class of your own as module:Class (e.g. mypkg.engines:MyEngine)."
        )
    return f"{module.strip()}:{attr.strip()}"


def engine_class(name: str) -> type[Engine]:
    """The engine class behind a registered name or a ``module:Class`` spec, imported now."""
    spec = engine_spec(name)
    module, _, attr = spec.partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        if name in ENGINES:
            raise  # ours import their heavy dependencies lazily, with their own messages
        missing = isinstance(exc, ModuleNotFoundError) and (module + ".").startswith(f"{exc.name}.")
        why = (
            f"no module named '{module}'. Install it, or put its folder on PYTHONPATH"
            if missing
            else f"importing '{module}' failed ({type(exc).__name__}: {exc})"
        )
        raise InputError(f"Engine '{name}': {why}.") from exc
    obj: Any = mod
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise InputError(f"Engine '{name}': module '{module}' has no '{attr}'.")
    if not (isinstance(obj, type) and issubclass(obj, Engine)):
        raise InputError(
            f"Engine '{name}': {attr} is not an engine class (a subclass of cycleresearcher.engines.Engine)."
        )
    missing = sorted(getattr(obj, "__abstractmethods__", ()))
    if missing:
        # an engine written for the two old hooks (generate or _generate_one) lands here
        raise InputError(
            f"Engine '{name}': {attr} does not implement {', '.join(missing)}. An engine implements "
            "_generate(batch) and describe(); one that answers a request at a time writes "
            "`def _generate(self, batch): batch.each(self._generate_one)` (docs/engines.md)."
        )
    return obj


def choose_engine(model: str | None, engine: str | None = None, base_url: str | None = None) -> str:
    """Pick an engine: explicit choice > --base-url (openai) > GGUF/embedded (llamacpp) >
    CUDA with vllm installed (vllm) > transformers (hf)."""
    if engine:
        engine_spec(engine)  # a registered name or a module:Class spec, else InputError
        return engine
    if base_url:
        return "openai"
    if model is None or model == "embedded" or str(model).lower().endswith(".gguf"):
        return "llamacpp"
    from ..hfmodels import cuda_available

    if importlib.util.find_spec("vllm") is not None and cuda_available():
        return "vllm"
    return "hf"


def load_engine(name: str, model: str | None = None, **kwargs: Any) -> Engine:
    """Instantiate engine ``name`` (registered, or ``module:Class``) for ``model`` (a path, a hub
    id, or None for the engine's default, the embedded model)."""
    from .options import check_engine_options

    cls = engine_class(name)
    kwargs = check_engine_options(name, cls, kwargs)
    return cls(model=model, **kwargs)


def __getattr__(name: str) -> Any:
    """``create_engine`` lives with the model names (``models.session``): resolving a size alias
    for a family, or picking a server's model of a family, is not an engine's business. The name
    is kept here for existing callers (``from cycleresearcher.engines import create_engine``),
    imported on first use, as the package's public API is."""
    if name == "create_engine":
        return importlib.import_module("cycleresearcher.models.session").create_engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
