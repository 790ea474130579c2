"""Environment report for ``cycleresearcher doctor`` (checks by file/spec lookups; nothing heavy is
imported except torch when it is installed, by ``hfmodels.cuda_devices``, to ask about the GPU),
plus a smoke generation in a child process."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .engines.llamacpp_build import REBUILD


def _pkg(name: str, dist: str | None = None) -> dict[str, Any]:
    if importlib.util.find_spec(name) is None:
        return {"ok": False, "detail": "not installed"}
    try:
        return {"ok": True, "detail": importlib.metadata.version(dist or name)}
    except importlib.metadata.PackageNotFoundError:
        return {"ok": True, "detail": "installed"}


def _http_engine() -> dict[str, Any]:
    """The OpenAI-compatible engine is httpx plus tenacity's retries (no OpenAI client)."""
    parts = {name: _pkg(name) for name in ("httpx", "tenacity")}
    return {
        "ok": all(p["ok"] for p in parts.values()),
        "detail": ", ".join(f"{name} {p['detail']}" for name, p in parts.items()),
    }


def collect() -> dict[str, dict[str, Any]]:
    report: dict[str, dict[str, Any]] = {"python": {"ok": True, "detail": platform.python_version()}}
    report["torch"] = _pkg("torch")
    from .hfmodels import cuda_devices

    devices = cuda_devices()
    report["gpu"] = {"ok": bool(devices), "detail": ", ".join(devices) or "no CUDA device"}
    report["engine llamacpp"] = _pkg("llama_cpp", "llama-cpp-python")
    if report["engine llamacpp"]["ok"]:
        report["llama.cpp build"] = build_contents()
    report["engine hf"] = _pkg("transformers")
    report["engine vllm"] = _pkg("vllm")
    report["engine openai"] = _http_engine()
    report["train (trl)"] = _pkg("trl")
    # the exporter runs pdflatex and bibtex itself (passes to the last, whatever one error does)
    tex = [shutil.which(t) for t in ("pdflatex", "bibtex")]
    report["tex (pdflatex, bibtex)"] = {
        "ok": all(tex),
        "detail": ", ".join(t for t in tex if t) if all(tex) else "not found: apt-get install texlive-latex-extra",
    }
    try:
        from .models import embedded_model_path

        report["embedded model"] = {"ok": True, "detail": str(embedded_model_path())}
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        report["embedded model"] = {"ok": False, "detail": str(exc)}
    return report


def build_contents() -> dict[str, Any]:
    """What the installed llama.cpp libraries contain (objdump), not what this CPU runs: a build
    with AMX or AVX-512 code may run here and crash on the next machine."""
    from .engines.llamacpp_build import BuildCheckUnavailable, scan_build

    try:
        report = scan_build()
    except BuildCheckUnavailable as exc:
        return {"ok": False, "detail": str(exc)}
    return {"ok": report.portable, "detail": report.summary()}


# -- the smoke generation ---------------------------------------------------------------------------
# A llama.cpp build with instructions this CPU lacks (e.g. -march=native on a machine with AMX,
# copied to one without) dies by SIGILL at the first token, killing the whole process. So the
# check runs one tiny generation in a child process and turns its death into an answer.

#: the CPU features llama.cpp builds pick kernels for (x86 names as /proc/cpuinfo spells them)
CPU_FLAGS = ("avx2", "fma", "f16c", "avx512f", "amx_tile", "amx_int8", "amx_bf16")
SMOKE_TIMEOUT_S = 120.0
SMOKE_TOKENS = 4
#: marker files scripts/bootstrap.sh writes into the virtualenv
FLAVOR_FILE = ".llama-cpp-flavor"
BUILD_FILE = ".llama-cpp-build"

FIX = (
    f"Rebuild llama.cpp portably: {REBUILD} . "
    'Installed by hand? CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
    "pip install --no-cache-dir --force-reinstall llama-cpp-python"
)

# The child: the same engine class the commands use, a few tokens from the embedded model.
SMOKE_CODE = f"""
import json, time
from cycleresearcher.engines.base import ChatRequest, SamplingParams
from cycleresearcher.engines.llamacpp import LlamaCppEngine
t = time.perf_counter()
engine = LlamaCppEngine(n_ctx=256)
[res] = engine.generate([ChatRequest([{{"role": "user", "content": "Say hello."}}],
                                     SamplingParams(temperature=0.0, max_tokens={SMOKE_TOKENS}, seed=0))])
if res.error:
    raise SystemExit("generation failed: " + res.error)
print(json.dumps({{"tokens": res.completion_tokens, "text": res.text, "seconds": time.perf_counter() - t}}))
"""


def smoke_command() -> list[str]:
    return [sys.executable, "-c", SMOKE_CODE]


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """``"avx2 fma f16c; missing: avx512f amx_tile ..."`` from cpuinfo, else the machine type."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), None)
    if line is None:
        return f"{platform.machine() or 'unknown machine'} (no /proc/cpuinfo flags)"
    have = set(line.partition(":")[2].split())
    present = [f for f in CPU_FLAGS if f in have]
    missing = [f for f in CPU_FLAGS if f not in have]
    return " ".join(present) + (f"; missing: {' '.join(missing)}" if missing else "")


def llama_build(prefix: str | Path | None = None) -> str:
    """Which llama-cpp-python is installed and how bootstrap built it (portable / native), if known."""
    folder = Path(prefix or sys.prefix)
    version = _pkg("llama_cpp", "llama-cpp-python")["detail"]
    flavor = folder / FLAVOR_FILE
    try:
        how = f"{flavor.read_text(encoding='utf-8').strip()} build (scripts/bootstrap.sh)"
    except OSError:
        how = "build flavour unknown (not installed by scripts/bootstrap.sh)"
    return f"llama-cpp-python {version}, {how}"


def _signal_name(num: int) -> str:
    try:
        return f"{signal.Signals(num).name} ({num})"
    except ValueError:
        return f"signal {num}"


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"


def smoke(cmd: Sequence[str] | None = None, timeout: float = SMOKE_TIMEOUT_S) -> dict[str, Any]:
    """Run one tiny generation in a child process (``cmd``; default: the embedded model through
    llama.cpp). Returns a report row: ``ok``, ``detail``, and on failure ``signal`` / ``returncode``,
    ``cpu_flags``, ``llama_build`` and ``fix``. ``skipped`` when there is nothing to run."""
    if cmd is None:
        if importlib.util.find_spec("llama_cpp") is None:
            return {"ok": False, "skipped": True, "detail": "skipped: llama-cpp-python is not installed"}
        try:
            from .models import embedded_model_path

            embedded_model_path()
        except Exception as exc:  # noqa: BLE001 - reported as a skipped check
            return {"ok": False, "skipped": True, "detail": f"skipped: {exc}"}
        cmd = smoke_command()
    start = time.perf_counter()
    # own session: a timeout kills the child and anything it started
    proc = subprocess.Popen(
        list(cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return _failed(f"no answer within {timeout:g} s (the child was killed)", timeout=True)
    elapsed = time.perf_counter() - start
    if proc.returncode < 0:
        name = _signal_name(-proc.returncode)
        why = (
            " - the llama.cpp build uses instructions this CPU does not have"
            if -proc.returncode == signal.SIGILL
            else ""
        )
        return _failed(f"the generation died by {name}{why}", signal=name, returncode=proc.returncode)
    if proc.returncode != 0:
        return _failed(
            f"the generation exited with status {proc.returncode}: {_last_line(stderr)}",
            returncode=proc.returncode,
        )
    try:
        got = json.loads(_last_line(stdout))
        tokens = int(got["tokens"])
    except (ValueError, KeyError, TypeError):
        return _failed(f"the generation answered no result: {_last_line(stdout + stderr)}")
    if tokens < 1:
        return _failed("the generation produced no token")
    return {"ok": True, "detail": f"{tokens} token(s) from the embedded model in {elapsed:.1f} s"}


def _failed(detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "ok": False,
        "detail": detail,
        **extra,
        "cpu_flags": cpu_flags(),
        "llama_build": llama_build(),
        "fix": FIX,
    }
