"""Engine registry: names map to "module:Class" strings imported on first use, so importing this
package (or running ``cycleresearcher --help``) never loads torch, llama_cpp or vllm.

Adding an engine = one new module + one line in ``ENGINES``. An engine of one's own needs no line:
``--engine mypkg.engines:MyEngine`` (any importable module, an ``Engine`` subclass whose
constructor takes ``model=``) is imported the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from ..errors import InputError
from .base import ChatRequest, Completion, Engine, GenerationResult, Message, SamplingParams

ENGINES: dict[str, str] = {
    "llamacpp": "cycleresearcher.engines.llamacpp:LlamaCppEngine",
    "hf": "cycleresearcher.engines.hf:HFEngine",
    "vllm": "cycleresearcher.engines.vllm:VLLMEngine",
    "openai": "cycleresearcher.engines.openai_compat:OpenAIEngine",
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
        served = load_engine(name, model=resolved, base_url=base_url, **kwargs)
        if not resolved:
            from ..models import pick_served_model

            listed = getattr(served, "served_models", lambda: [])()
            picked = pick_served_model(listed, family)
            if picked:
                served.model_id = picked
        return served
    resolved = resolve_model(model, family)
    if notice and is_embedded(model):
        import sys

        print(f"Notice: {embedded_notice(family)}", file=sys.stderr)
    return load_engine(name, model=resolved, **kwargs)
