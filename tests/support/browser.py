"""What the browser tests share: `cycleresearcher serve` started on a free loopback port, and the
system Chromium (no browser is ever downloaded; CYCLERESEARCHER_CHROMIUM names another one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CYCLERESEARCHER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@contextmanager
def serve(tmp_path: Path, *args: str) -> Iterator[str]:
    """The web server with ``args`` (runs under tmp_path/runs), its URL once it answers."""
    from conftest import free_port

    port = free_port()
    log_path = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "cycleresearcher", "serve", "--port", str(port),
           "--runs-dir", str(tmp_path / "runs"), *args]  # fmt: skip
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    proc.kill()
                    pytest.fail(f"the server did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.3)
        try:
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def launch_chromium(pw: Any) -> Any:
    """The system Chromium through Playwright; the test skips (fails under CI) where there is none."""
    if not Path(CHROMIUM).is_file() and shutil.which("chromium") is None:
        pytest.skip("no system chromium (set CYCLERESEARCHER_CHROMIUM)")
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
