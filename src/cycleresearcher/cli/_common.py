"""Options and helpers shared by the CLI commands (the CLI stays a thin layer over the API)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console

from ..app.report import about  # noqa: F401  (the commands' warnings name their file once)
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
        help="Engine: llamacpp, hf, vllm, openai, ray (a Ray cluster; see docs/cluster.md), or your own as module:Class (docs/engines.md). Default: chosen from the model (GGUF -> llamacpp, --base-url -> openai, GPU + vllm -> vllm, else hf).",
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
        "--out",
        "-o",
        help="Run directory: the SQLite run store (run.sqlite, rerun with --resume) and the exports. Default: runs/<command>-<timestamp>.",
    ),
]


def engine_options(
    pairs: list[str] | None,
    api_key: str | None = None,
    *,
    model: str | None = None,
    engine: str | None = None,
    base_url: str | None = None,
    check: bool = True,
) -> dict:
    """``--engine-opt`` pairs as the engine's settings (``app.session.engine_settings``), with the
    API key, and llama.cpp's own load log under ``--verbose``."""
    from ..app.session import engine_settings
    from ..engines import choose_engine
    from ._noise import engine_options as loud_options
    from ._noise import verbose

    opts = engine_settings(pairs, model=model, engine=engine, base_url=base_url, check=check)
    if api_key:  # only the HTTP engine uses it; load_engine drops it for the others
        opts["api_key"] = api_key
    if verbose() and (check or model or engine or base_url):  # an explicit --engine-opt verbose= wins
        opts = loud_options(choose_engine(model, engine, base_url)) | opts
    return opts


def cut(text: str, width: int = 60) -> str:
    """``text`` in at most ``width`` characters, a cut one ending in an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def fail(exc: BaseException, code: int = EXIT_INPUT) -> None:
    """Print an error the user can act on (no traceback) and exit."""
    from rich.markup import escape

    # one line however narrow the terminal; brackets in the message are text, not markup
    console.print(f"[bold red]Error:[/] {escape(str(exc))}", soft_wrap=True)
    raise typer.Exit(code)


#: set by the global --debug option (or CYCLERESEARCHER_DEBUG=1): show tracebacks, keep no log
DEBUG = False
_SECRET_ENV = (
    "OPENAI_API_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    # the scholarly services' keys (references enrich)
    "CYCLERESEARCHER_S2_API_KEY",
    "S2_API_KEY",
    "SEMANTIC_SCHOLAR_API_KEY",
    "CYCLERESEARCHER_OPENALEX_API_KEY",
    "OPENALEX_API_KEY",
)


def debug_enabled() -> bool:
    return DEBUG or os.environ.get("CYCLERESEARCHER_DEBUG", "") not in ("", "0")


def log_dir():
    """Where tracebacks of unexpected errors go: $XDG_CACHE_HOME/cycleresearcher/logs."""
    from pathlib import Path

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cycleresearcher" / "logs"


def _secrets(kwargs: dict) -> list[str]:
    found = [os.environ.get(name, "") for name in _SECRET_ENV]
    found += [
        str(v)
        for k, v in kwargs.items()
        if isinstance(v, str) and any(s in k.lower() for s in ("key", "token", "secret", "password"))
    ]
    argv = sys.argv
    found += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--api-key",)]
    found += [a.split("=", 1)[1] for a in argv if a.startswith("--api-key=")]
    # short strings would blank out ordinary words; real keys are long
    return sorted({s for s in found if len(s) >= 6}, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***")
    return text


def unexpected(exc: BaseException, kwargs: dict) -> None:
    """A bug or an input we do not handle: one line for the user, the traceback in a log file."""
    import time
    import traceback

    from rich.markup import escape

    secrets = _secrets(kwargs)
    detail = (
        redact(f"{type(exc).__name__}: {exc}", secrets).splitlines()[0][:300]
        if str(exc)
        else type(exc).__name__
    )
    log = log_dir() / f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    body = f"command: {' '.join(sys.argv)}\n\n" + "".join(traceback.format_exception(exc))
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(redact(body, secrets), encoding="utf-8")
        where = f"The traceback is in {log}"
    except OSError:
        where = "No log could be written"
    console.print(
        f"[bold red]Unexpected error:[/] {escape(detail)}. {escape(where)}; rerun with --debug to show it, "
        "and please report it.",
        soft_wrap=True,
    )
    raise typer.Exit(1)


def guard(fn):
    """Decorator: turn our own errors into a one-line message and exit code 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CycleResearcherError as exc:
            if debug_enabled():
                raise
            fail(exc)
        except KeyboardInterrupt:
            where = kwargs.get("output_dir") if "resume" in kwargs else None  # the -o the command resumes
            again = f"--resume -o {where}" if where else "--resume"
            console.print(
                f"Interrupted. Finished results are in the run store; rerun with {again} to continue.",
                soft_wrap=True, markup=False, highlight=False,
            )
            sys.exit(EXIT_INTERRUPTED)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:  # no traceback reaches the user unless they ask (--debug)
            if debug_enabled():
                raise
            from ..atomic import disk_full_error, is_disk_full

            if is_disk_full(exc):  # a write we do not route through atomic (a library's, TeX's)
                fail(disk_full_error(getattr(exc, "filename", None)))
            unexpected(exc, kwargs)

    return wrapper
