"""Atomic writes give files the mode a plain write would: 0666 less the umask for a new file (the
temporary-file writer once left every export at mkstemp's 0600, unreadable to a group or a web
server), and a replaced file keeps the mode it had."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cycleresearcher import atomic

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


@pytest.fixture
def umask() -> Iterator[object]:
    def set_to(mask: int) -> None:
        os.umask(mask)

    saved = os.umask(0o022)
    try:
        yield set_to
    finally:
        os.umask(saved)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_file_follows_the_umask(tmp_path: Path, umask, mask: int, expected: int) -> None:
    umask(mask)
    target = atomic.write_text(tmp_path / "review.json", "{}\n")
    assert mode(target) == expected
    assert target.read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["review.json"]  # no temporary file left


def test_replaced_file_keeps_its_mode(tmp_path: Path, umask) -> None:
    umask(0o022)
    target = tmp_path / "detections.md"
    target.write_text("old\n")
    target.chmod(0o640)
    atomic.write_text(target, "new\n")
    assert mode(target) == 0o640 and target.read_text() == "new\n"
    umask(0o077)  # the umask of a later write does not tighten a file that exists
    target.chmod(0o664)
    atomic.write_bytes(target, b"newer\n")
    assert mode(target) == 0o664 and target.read_bytes() == b"newer\n"
