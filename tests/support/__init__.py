"""Test-only code: a scripted engine and the naive Fast-DetectGPT oracle.

Importable as ``support`` because pytest puts ``tests/`` on ``sys.path`` (``pythonpath`` in
pyproject.toml). The CLI names the scripted engine by its spec like any engine of one's own,
``--engine support.fake_engine:FakeEngine`` (``FAKE_ENGINE``); a CLI started as a child process
finds it through ``child_env()``, which puts ``tests/`` on the child's ``PYTHONPATH``.
"""

from __future__ import annotations

import os
from pathlib import Path

FAKE_ENGINE = "support.fake_engine:FakeEngine"
TESTS = Path(__file__).resolve().parent.parent


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process that imports ``support`` (e.g. ``-e FAKE_ENGINE``)."""
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p)
    return env
