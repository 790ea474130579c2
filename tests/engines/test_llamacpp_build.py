"""The llama.cpp build is checked by what its machine code contains, not by running on this CPU
(a native build runs here and SIGILLs on other Xeons). The scanner itself is tested on small
libraries compiled on the spot with and without AMX / AVX-512 code."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cycleresearcher.engines.llamacpp_build import SPIN_COUNT, prepare_environment, scan_build, scan_library

x86 = platform.machine() in ("x86_64", "AMD64")

AVX2 = """
#include <immintrin.h>
float f(const float *a, const float *b) {
    __m256 s = _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(b), _mm256_setzero_ps());
    float out[8]; _mm256_storeu_ps(out, s); return out[0] + out[7];
}
"""
AVX512 = """
#include <immintrin.h>
float f(const float *a, const float *b) {
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_loadu_ps(a), _mm512_loadu_ps(b)));
}
"""
AMX = """
#include <immintrin.h>
void f(void) { _tile_zero(0); _tile_release(); }
"""
VNNI = """
#include <immintrin.h>
__m256i f(__m256i a, __m256i b, __m256i c) { return _mm256_dpbusd_avx_epi32(a, b, c); }
"""


def _compile(tmp_path: Path, name: str, source: str, flags: list[str]) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.fail("no C compiler: the build check's own test needs gcc (apt-get install gcc)")
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    lib = tmp_path / f"libggml-{name}.so"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", *flags, str(src), "-o", str(lib)], check=True)
    return lib


@pytest.mark.skipif(not x86, reason="x86-64 instruction sets")
def test_scanner_finds_amx_avx512_and_vnni_and_passes_avx2(tmp_path: Path) -> None:
    avx2 = scan_library(_compile(tmp_path, "avx2", AVX2, ["-mavx2", "-mfma"]))
    avx512 = scan_library(_compile(tmp_path, "avx512", AVX512, ["-mavx512f"]))
    amx = scan_library(_compile(tmp_path, "amx", AMX, ["-mamx-tile"]))
    vnni = scan_library(_compile(tmp_path, "vnni", VNNI, ["-mavx2", "-mavxvnni"]))
    assert avx2.instructions > 5
    assert (avx2.amx, avx2.avx512, avx2.avx_vnni) == (0, 0, 0)
    assert avx512.avx512 > 0 and avx512.amx == 0
    assert amx.amx >= 2 and any("tilezero" in e for e in amx.examples)
    assert vnni.avx_vnni > 0 and vnni.avx512 == 0
    # the report over a folder: any such library makes the build non-portable
    report = scan_build(tmp_path)
    assert not report.portable and report.amx >= 2
    assert "SIGILL" in report.summary() and "bootstrap.sh" in report.summary()


def _installed_flavor() -> str:
    marker = Path(sys.prefix) / ".llama-cpp-flavor"
    return marker.read_text().strip() if marker.is_file() else "portable"


@pytest.mark.skipif(not x86, reason="the AVX2 baseline is an x86-64 notion")
def test_installed_llama_cpp_is_portable() -> None:
    """The llama.cpp that scripts/bootstrap.sh installed holds no AMX, AVX-512 or AVX-VNNI code,
    whatever this machine's CPU supports (CI builds it from a clean clone)."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    if _installed_flavor() == "native":
        pytest.skip("CR_LLAMA_BUILD=native was chosen for this venv: a native build is expected here")
    report = scan_build()
    names = sorted(Path(lib.path).name for lib in report.libraries)
    assert any(n.startswith("libggml-cpu") for n in names), names
    assert any(n.startswith("libllama") for n in names), names
    offending = [(Path(lib.path).name, lib.examples) for lib in report.libraries if lib.examples]
    assert report.portable, f"instructions beyond AVX2 in the installed build: {offending}"


def test_openmp_threads_spin_briefly_by_default_but_the_user_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    prepare_environment()
    assert os.environ["GOMP_SPINCOUNT"] == SPIN_COUNT
    monkeypatch.setenv("GOMP_SPINCOUNT", "5")
    prepare_environment()
    assert os.environ["GOMP_SPINCOUNT"] == "5"
    monkeypatch.delenv("GOMP_SPINCOUNT")
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # a chosen policy is left alone
    prepare_environment()
    assert "GOMP_SPINCOUNT" not in os.environ


@pytest.mark.slow
def test_the_engine_sets_the_default_before_llama_cpp_loads_and_loads_quietly(tmp_path: Path) -> None:
    """libgomp reads its settings when it loads, so the engine must set them before that."""
    code = (
        "import os, sys\n"
        "from cycleresearcher.engines.llamacpp import LlamaCppEngine\n"
        "assert 'llama_cpp' not in sys.modules\n"
        "eng = LlamaCppEngine()\n"  # no n_ctx: the trained length is read from the GGUF
        "print(os.environ.get('GOMP_SPINCOUNT'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == SPIN_COUNT
    # reading the trained context length builds no context, so llama.cpp has nothing to warn about
    assert "n_ctx_train" not in out.stderr, out.stderr[-2000:]


@pytest.mark.skipif(not x86, reason="the AVX2 baseline is an x86-64 notion")
def test_doctor_reports_what_the_build_contains() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    import json

    from typer.testing import CliRunner

    from cycleresearcher.cli import app

    result = CliRunner().invoke(app, ["doctor", "--json", "--no-smoke"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)["llama.cpp build"]
    if _installed_flavor() == "native":
        pytest.skip("CR_LLAMA_BUILD=native was chosen for this venv")
    assert row == {"ok": True, "detail": "portable: nothing beyond AVX2 (no AVX-512, no AMX)"}


def test_doctor_flags_a_native_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not x86:
        pytest.skip("x86-64 instruction sets")
    _compile(tmp_path, "amx", AMX, ["-mamx-tile"])
    monkeypatch.setenv("LLAMA_CPP_LIB_PATH", str(tmp_path))
    from cycleresearcher.doctor import build_contents

    row = build_contents()
    assert row["ok"] is False and "AMX" in row["detail"] and "bootstrap.sh" in row["detail"]
