"""What ``cycleresearcher review`` prints for a file that is not a PDF: the reader's own line, not
pypdf's log lines (hidden unless --verbose)."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

from support import child_env


def _zip_named_pdf(folder: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("word/document.xml", "<w:document>draft</w:document>")
    path = folder / "draft.pdf"
    path.write_bytes(buffer.getvalue())
    return path


def _child(*args: object) -> str:
    env = child_env(COLUMNS="400", NO_COLOR="1")
    env.pop("CYCLERESEARCHER_QUIET_READERS", None)  # as in a user's shell: the CLI sets it itself
    env.pop("CYCLERESEARCHER_VERBOSE", None)
    done = subprocess.run(
        [sys.executable, "-m", "cycleresearcher", *map(str, args)], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    return done.stdout + done.stderr


def test_pypdf_log_lines_stay_hidden_unless_verbose(tmp_path):
    pdf = _zip_named_pdf(tmp_path)
    quiet = _child("review", pdf, "-o", tmp_path / "a")
    assert "not a readable PDF" in quiet and "invalid pdf header" not in quiet, quiet
    loud = _child("--verbose", "review", pdf, "-o", tmp_path / "b")
    assert "invalid pdf header" in loud
