"""Shared fixtures: the real-model outputs from shared/fixtures (via CYCLERESEARCHER_FIXTURES) and
the embedded SmolLM2 model."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

# Rich wraps console output at the terminal width (80 without a terminal), so where a test's paths
# are long a message can break across lines; tests read messages, not layout: use a wide console.
os.environ["COLUMNS"] = "200"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The conformance fixtures. Unset variable: skip. Set but missing: FAIL (CI must see them)."""
    value = os.environ.get("CYCLERESEARCHER_FIXTURES")
    if not value:
        pytest.skip("CYCLERESEARCHER_FIXTURES is not set (conformance tests on real model outputs skipped)")
    path = Path(value)
    if not path.is_dir():
        pytest.fail(f"CYCLERESEARCHER_FIXTURES={value} is set but is not a directory")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Our own small fixtures (own words, same formats as the released models)."""
    return DATA


@pytest.fixture(scope="session")
def embedded_gguf() -> str:
    from cycleresearcher.models import embedded_model_path

    return str(embedded_model_path())


@pytest.fixture(scope="session")
def embedded_hf_dir(embedded_gguf: str) -> str:
    """The embedded model converted once to a transformers directory (cached across runs)."""
    pytest.importorskip("transformers")
    from cycleresearcher.hfmodels import hf_model_dir

    return hf_model_dir(embedded_gguf)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_llama_server(gguf: str, n_ctx: int = 2048, api_key: str | None = None, alias: str | None = None):
    """Start a real ``python -m llama_cpp.server`` on a free 127.0.0.1 port and wait until it
    answers; returns ``(process, /v1 URL)``. The caller stops the process."""
    import subprocess
    import sys
    import time

    import httpx

    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed")
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        gguf,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    cmd += ["--n_ctx", str(n_ctx)]
    if api_key:
        cmd += ["--api_key", api_key]
    if alias:
        cmd += ["--model_alias", alias]
    env = {**os.environ, "OPENAI_API_KEY": ""}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/models", headers=headers, timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("llama_cpp.server did not become ready in 60 s")
        time.sleep(0.2)


@contextlib.contextmanager
def llama_server_process(gguf: str, n_ctx: int = 2048, api_key: str | None = None, alias: str | None = None):
    """``start_llama_server`` as a context manager that yields the /v1 URL and stops the server."""
    proc, url = start_llama_server(gguf, n_ctx, api_key, alias)
    try:
        yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)
