"""`doctor`'s smoke generation: a crash of the child (SIGILL from a build for another CPU), a
timeout or a failing exit become a report with the signal, CPU flags, build and fix; the real
smoke passes on the embedded model."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from cycleresearcher import doctor
from cycleresearcher.cli import app

SIGILL_CHILD = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]


def test_a_child_killed_by_sigill_is_reported_with_flags_build_and_fix():
    row = doctor.smoke(SIGILL_CHILD, timeout=60)
    assert row["ok"] is False and not row.get("skipped")
    assert row["signal"] == "SIGILL (4)" and "SIGILL (4)" in row["detail"]
    assert "instructions this CPU does not have" in row["detail"]
    assert "rm -f .venv/.llama-cpp-build && scripts/bootstrap.sh" in row["fix"]
    assert "-DGGML_NATIVE=OFF" in row["fix"] and "--force-reinstall llama-cpp-python" in row["fix"]
    assert row["llama_build"].startswith("llama-cpp-python")
    assert row["cpu_flags"]


def test_timeout_and_nonzero_exit_are_failures():
    slow = doctor.smoke([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)
    assert slow["ok"] is False and slow["timeout"] is True and "no answer within 1 s" in slow["detail"]
    bad = doctor.smoke([sys.executable, "-c", "import sys; sys.exit('model exploded')"], timeout=60)
    assert bad["ok"] is False and bad["returncode"] == 1 and "model exploded" in bad["detail"]
    silent = doctor.smoke([sys.executable, "-c", "print('{}')"], timeout=60)
    assert silent["ok"] is False and "no result" in silent["detail"]


def test_cpu_flags_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma f16c avx512f amx_tile\n")
    assert doctor.cpu_flags(info) == "avx2 fma f16c avx512f amx_tile; missing: amx_int8 amx_bf16"
    assert "no /proc/cpuinfo flags" in doctor.cpu_flags(tmp_path / "absent")


def test_llama_build_reads_the_bootstrap_flavour(tmp_path):
    assert "flavour unknown" in doctor.llama_build(tmp_path)
    (tmp_path / ".llama-cpp-flavor").write_text("native\n")
    assert "native build (scripts/bootstrap.sh)" in doctor.llama_build(tmp_path)


def test_cli_doctor_exits_3_and_explains_a_crash(monkeypatch):
    monkeypatch.setattr(doctor, "smoke_command", lambda: SIGILL_CHILD)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 3, result.output
    assert "SIGILL (4)" in result.output and "CPU flags:" in result.output
    assert "scripts/bootstrap.sh" in result.output
    quick = CliRunner().invoke(app, ["doctor", "--no-smoke", "--json"])
    assert quick.exit_code == 0 and "smoke generation" not in json.loads(quick.stdout)


@pytest.mark.slow
def test_the_real_smoke_passes_on_the_embedded_model(embedded_gguf):
    pytest.importorskip("llama_cpp")
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["smoke generation"]
    assert row["ok"] is True, row
    assert "token(s) from the embedded model" in row["detail"]


def test_the_http_engine_row_names_what_the_engine_uses():
    import importlib.metadata

    row = doctor.collect()["engine openai"]
    versions = {name: importlib.metadata.version(name) for name in ("httpx", "tenacity")}
    assert row == {"ok": True, "detail": f"httpx {versions['httpx']}, tenacity {versions['tenacity']}"}
