"""Options and helpers shared by the CLI commands (the CLI stays a thin layer over the API)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer
from rich.console import Console

from ..errors import CycleResearcherError

#: exit codes (README "Exit codes"): 2 bad input, 3 some work failed or nothing usable came out,
#: 130 interrupted
EXIT_INPUT = 2
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130

console = Console(stderr=True)
out = Console()  # stdout: machine-readable output (JSON) goes here

ModelOpt = Annotated[
    Optional[str],
    typer.Option(
        "--model",
        "-m",
        help="Model: a size alias (12B, 72B, 123B / 8B, 70B / 7B, 14B), a hub id, a local dir, a .gguf file, or 'embedded' (default on CPU).",
    ),
]
EngineOpt = Annotated[
    Optional[str],
    typer.Option(
        "--engine",
        "-e",
        help="Engine: llamacpp, hf, vllm, openai, ray (a Ray cluster; see docs/cluster.md). Default: chosen from the model (GGUF -> llamacpp, --base-url -> openai, GPU + vllm -> vllm, else hf).",
    ),
]
BaseUrlOpt = Annotated[
    Optional[str],
    typer.Option(
        "--base-url",
        envvar="OPENAI_BASE_URL",
        help="OpenAI-compatible server URL (vLLM serve, SGLang, llama.cpp server, Ollama, ...). Key from OPENAI_API_KEY.",
    ),
]
ApiKeyOpt = Annotated[
    Optional[str],
    typer.Option(
        "--api-key",
        envvar="OPENAI_API_KEY",
        show_default=False,
        help="Key for --base-url servers that need one (default: $OPENAI_API_KEY). Never written to disk or printed.",
    ),
]
EngineOptOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--engine-opt",
        help="Engine setting KEY=VALUE, repeatable (e.g. n_ctx=8192, n_threads=2, tensor_parallel_size=4, gpu_memory_utilization=0.9, max_model_len=60000, max_concurrency=8; ray: address=, workers=2, inner=llamacpp, inner_opts=JSON, backend=vllm).",
    ),
]
OutDirOpt = Annotated[
    Optional[str],
    typer.Option(
        "--output-dir",
        "-o",
        help="Run directory (SQLite run store + exports). Default: runs/<command>-<timestamp>.",
    ),
]


def engine_options(pairs: list[str] | None, api_key: str | None = None) -> dict:
    """``["n_ctx=8192", "dtype=bf16"]`` -> ``{"n_ctx": 8192, "dtype": "bf16"}`` (ints, floats, booleans parsed)."""
    from ..errors import InputError

    opts: dict = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--engine-opt expects KEY=VALUE, got {pair!r}")
        v: object = value
        if value.lower() in ("true", "false"):
            v = value.lower() == "true"
        else:
            for cast in (int, float):
                try:
                    v = cast(value)
                    break
                except ValueError:
                    pass
        opts[key.strip().replace("-", "_")] = v
    if api_key:  # only the HTTP engine uses it; the others ignore unknown settings
        opts["api_key"] = api_key
    return opts


def fail(exc: BaseException, code: int = EXIT_INPUT) -> None:
    """Print an error the user can act on (no traceback) and exit."""
    from rich.markup import escape

    # one line however narrow the terminal; brackets in the message are text, not markup
    console.print(f"[bold red]Error:[/] {escape(str(exc))}", soft_wrap=True)
    raise typer.Exit(code)


def run_dir(output_dir: str | None, command: str) -> str:
    if output_dir:
        return output_dir
    import time

    return f"runs/{command}-{time.strftime('%Y%m%d-%H%M%S')}"


def guard(fn):
    """Decorator: turn our own errors into a one-line message and exit code 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CycleResearcherError as exc:
            fail(exc)
        except KeyboardInterrupt:
            console.print(
                "Interrupted. Finished results are in the run store; rerun with --resume to continue."
            )
            sys.exit(EXIT_INTERRUPTED)

    return wrapper
