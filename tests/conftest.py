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


@pytest.fixture
def replay(fixtures_dir: Path):
    """A loopback OpenAI-compatible server answering with the released models' real outputs from
    the fixtures (tests/support/replay_server.py); it records every request body it receives."""
    from support.replay_server import ReplayServer

    with ReplayServer(fixtures_dir) as server:
        yield server


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Our own small fixtures (own words, same formats as the released models)."""
    return DATA


@pytest.fixture()
def bib(tmp_path: Path) -> Path:
    """A two-entry .bib with abstracts (the scripted outputs of researcher_outputs.py cite it)."""
    path = tmp_path / "refs.bib"
    path.write_text(
        "@article{vaswani2017attention,\n  title={Attention is all you need},\n  author={Vaswani, Ashish},\n"
        "  year={2017},\n  abstract={The dominant sequence transduction models are based on recurrent networks.}\n}\n\n"
        "@article{dao2022flash,\n  title={FlashAttention: fast and memory-efficient exact attention},\n"
        "  author={Dao, Tri},\n  year={2022},\n  abstract={Transformers are slow and memory-hungry on long sequences.}\n}\n",
        encoding="utf-8",
    )
    return path


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


# -- CI: a skip is a failure ----------------------------------------------------------------------
# With CI=true a test that skips because a tool, an extra or the fixtures are missing would let a
# broken CI look green, so it fails instead. The only skips CI keeps are for what no CI runner can
# have; such a skip's reason starts with one of these prefixes (README, "Development").
CI_ALLOWED_SKIPS = {
    "[gpu]": "needs a CUDA GPU",
    "[vllm]": "needs vLLM, which installs only with CUDA wheels",
}


def ci_enabled() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    lr = report.longrepr
    reason = str(lr[2]) if isinstance(lr, tuple) and len(lr) == 3 else str(lr)
    return reason.removeprefix("Skipped: ")


def _ci_allowed(reason: str) -> bool:
    return reason.startswith(tuple(CI_ALLOWED_SKIPS))


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    reason = _skip_reason(report)
    report.outcome = "failed"
    report.longrepr = (
        f"CI=true: skipped ({reason}). On CI a skip is a failure: install what the test needs "
        "(see .ci/run) or, if no CI runner can ever have it, start the skip reason with one of "
        f"{', '.join(CI_ALLOWED_SKIPS)} (README, Development)."
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # xfail outcomes are reported as skipped too (with wasxfail): those are not skips
    skipped = report.skipped and not hasattr(report, "wasxfail")
    if ci_enabled() and skipped and not _ci_allowed(_skip_reason(report)):
        _fail_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield  # a module-level importorskip / skip(allow_module_level=True) skips here
    if ci_enabled() and report.skipped and not _ci_allowed(_skip_reason(report)):
        _fail_skip(report)
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not ci_enabled() or config.option.collectonly:
        return
    stats = terminalreporter.stats
    ran = sum(len(stats.get(k, [])) for k in ("passed", "failed", "xfailed", "xpassed"))
    skipped = [r for r in stats.get("skipped", []) if not hasattr(r, "wasxfail")]
    errors = len(stats.get("error", []))
    line = f"CI: {ran} tests ran, {len(skipped)} skipped, {errors} errors"
    terminalreporter.write_line(line, bold=True, red=bool(errors or exitstatus))
    for r in skipped:  # only allowed skips get here; list them so they stay few and seen
        terminalreporter.write_line(f"CI: allowed skip {r.nodeid}: {_skip_reason(r)}")
