"""Install lines that resolve: library extras never pin torch exactly (a GPU install must be free
to take the torch its vLLM needs); the CPU pins live in constraints/cpu.txt, which bootstrap and
CI pass. The resolver's answers themselves: scripts/check_install_lines.sh, docs/engines.md."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def _extras() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def test_no_extra_pins_torch_or_vllm_exactly() -> None:
    for extra, reqs in _extras().items():
        for req in reqs:
            assert not re.match(r"(torch|vllm)\s*==", req), f"extra '{extra}' pins {req}: use a range"


def test_the_gpu_extra_has_a_floor_that_keeps_pip_off_old_vllm() -> None:
    # without a floor pip kept the newest transformers and backtracked to vLLM 0.19.1 / torch 2.10
    (vllm,) = [r for r in _extras()["gpu"] if r.startswith("vllm")]
    assert re.fullmatch(r"vllm>=0\.(3[3-9]|[4-9]\d)(\.\d+)?", vllm), vllm


def test_bootstrap_passes_the_cpu_constraints_with_the_pinned_torch() -> None:
    pins = (ROOT / "constraints/cpu.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", pins, re.M)
    assert re.search(r"^llama-cpp-python==\d", pins, re.M)
    boot = (ROOT / "scripts/bootstrap.sh").read_text()
    assert "-c constraints/cpu.txt" in boot
    # the portable build: native code generation off, AMX and AVX-512 off
    for flag in ("-DGGML_NATIVE=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AVX512=OFF", "-DLLAVA_BUILD=OFF"):
        assert flag in boot, flag
    assert "--no-cache-dir" in boot  # pip's wheel cache ignores CMAKE_ARGS
