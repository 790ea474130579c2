"""The CLI as a child process, for tests that kill, interrupt or race a real command
(``python -m cycleresearcher``, with ``tests/`` on its path so ``--engine FAKE_ENGINE`` loads)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from . import child_env

COMMAND = [sys.executable, "-m", "cycleresearcher"]


def cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the CLI to its end; stdout and stderr together in ``.stdout``, one line per message."""
    env = child_env(COLUMNS="400", NO_COLOR="1")
    return subprocess.run(
        [*COMMAND, *map(str, args)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=timeout,
    )  # fmt: skip


def spawn(*args: object) -> subprocess.Popen[str]:
    """Start the CLI and return at once (the caller kills, interrupts or waits)."""
    env = child_env(COLUMNS="400", NO_COLOR="1")
    return subprocess.Popen(
        [*COMMAND, *map(str, args)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path | None]:
    """A real tmpfs of ``size`` mounted at ``where`` (None when this machine cannot mount one:
    not root, or no mount permission in the container). Unmounted at the end."""
    where.mkdir(parents=True, exist_ok=True)
    tag = f"crtest-{uuid.uuid4().hex[:8]}"
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", tag, str(where)], capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        done = None
    if done is None or done.returncode != 0:
        yield None
        return
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def remount_readonly(where: Path) -> bool:
    return subprocess.run(["mount", "-o", "remount,ro", str(where)], capture_output=True).returncode == 0


def fill(where: Path, leave: int) -> None:
    """Fill the file system of ``where`` until about ``leave`` bytes are free."""
    st = os.statvfs(where)
    free = st.f_bavail * st.f_frsize
    with open(where / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))
