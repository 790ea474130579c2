"""Environment report for ``cycleresearcher doctor`` (checks by file/spec lookups; nothing heavy is
imported except torch when it is installed, to ask about the GPU)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import shutil
from typing import Any


def _pkg(name: str, dist: str | None = None) -> dict[str, Any]:
    if importlib.util.find_spec(name) is None:
        return {"ok": False, "detail": "not installed"}
    try:
        return {"ok": True, "detail": importlib.metadata.version(dist or name)}
    except importlib.metadata.PackageNotFoundError:
        return {"ok": True, "detail": "installed"}


def collect() -> dict[str, dict[str, Any]]:
    report: dict[str, dict[str, Any]] = {"python": {"ok": True, "detail": platform.python_version()}}
    report["torch"] = _pkg("torch")
    gpu = {"ok": False, "detail": "no CUDA device"}
    if report["torch"]["ok"]:
        import torch

        if torch.cuda.is_available():
            gpu = {
                "ok": True,
                "detail": ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())),
            }
    report["gpu"] = gpu
    report["engine llamacpp"] = _pkg("llama_cpp", "llama-cpp-python")
    report["engine hf"] = _pkg("transformers")
    report["engine vllm"] = _pkg("vllm")
    report["engine openai"] = _pkg("openai")
    report["train (trl)"] = _pkg("trl")
    latexmk = shutil.which("latexmk")
    report["tex (latexmk)"] = {
        "ok": bool(latexmk),
        "detail": latexmk or "not found: apt-get install latexmk texlive-latex-extra",
    }
    try:
        from .models import embedded_model_path

        report["embedded model"] = {"ok": True, "detail": str(embedded_model_path())}
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        report["embedded model"] = {"ok": False, "detail": str(exc)}
    return report
