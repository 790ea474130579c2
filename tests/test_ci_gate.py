"""The CI gate of tests/conftest.py: with CI=true a skip fails (unless its reason carries an
allowed prefix); without CI it stays a skip. Runs a real pytest subprocess on a tiny test tree
that uses this very conftest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).parent / "conftest.py"

TESTS = """
import pytest

def test_passes():
    assert 1 + 1 == 2

def test_tool_missing():
    pytest.skip("latexmk is not installed")

def test_extra_missing():
    pytest.importorskip("no_such_module_for_the_ci_gate")

def test_fixtures_missing(fixtures_dir):
    assert fixtures_dir.is_dir()

@pytest.mark.skipif(True, reason="chromium is not installed")
def test_skipif_marker():
    pass

def test_gpu():
    pytest.skip("[gpu] no CUDA device")

@pytest.mark.xfail(reason="known bug", strict=True)
def test_xfail():
    assert False
"""

MODULE_SKIP = """
import pytest
pytest.importorskip("no_such_module_at_module_level")

def test_never_collected():
    assert True
"""


def run_tree(tmp_path: Path, ci: str | None, **files: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text(encoding="utf-8"), encoding="utf-8")
    for name, text in files.items():
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    env = {
        k: v for k, v in os.environ.items() if k not in {"CI", "PYTEST_ADDOPTS", "CYCLERESEARCHER_FIXTURES"}
    }
    if ci is not None:
        env["CI"] = ci
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-v",
        "-rA",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        str(tmp_path),
    ]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def outcomes(stdout: str) -> dict[str, str]:
    """test (or module) name -> PASSED / FAILED / SKIPPED / XFAIL / ERROR, from the -v lines and,
    for a module that failed to collect, the -rA summary."""
    found = dict(re.findall(r"^\S+?::(test_\w+) (PASSED|FAILED|SKIPPED|XFAIL|ERROR)\b", stdout, re.M))
    found.update((m, "ERROR") for m in re.findall(r"^ERROR (test_\w+)\.py\b", stdout, re.M))
    return found


@pytest.mark.parametrize("ci", ["true", "1"])
def test_ci_turns_skips_into_failures(tmp_path: Path, ci: str):
    r = run_tree(tmp_path, ci, test_tiny=TESTS)
    got = outcomes(r.stdout)
    assert r.returncode == 1, r.stdout
    for name in ("test_tool_missing", "test_extra_missing"):
        assert got.get(name) == "FAILED", (name, r.stdout)
    for name in ("test_fixtures_missing", "test_skipif_marker"):  # skipped in setup: a setup error
        assert got.get(name) == "ERROR", (name, r.stdout)
    assert got.get("test_passes") == "PASSED"
    assert got.get("test_gpu") == "SKIPPED"  # the allowed prefix stays a skip
    assert got.get("test_xfail") == "XFAIL"  # an expected failure is not a skip
    assert "CI=true: skipped (latexmk is not installed)" in r.stdout
    assert "CI: 4 tests ran, 1 skipped, 2 errors" in r.stdout
    assert "CI: allowed skip test_tiny.py::test_gpu: [gpu] no CUDA device" in r.stdout


@pytest.mark.parametrize("ci", [None, "false"])
def test_without_ci_skips_stay_skips(tmp_path: Path, ci: str | None):
    r = run_tree(tmp_path, ci, test_tiny=TESTS, test_module_skip=MODULE_SKIP)
    got = outcomes(r.stdout)
    assert r.returncode == 0, r.stdout
    for name in (
        "test_tool_missing",
        "test_extra_missing",
        "test_fixtures_missing",
        "test_skipif_marker",
        "test_gpu",
    ):
        assert got.get(name) == "SKIPPED", (name, r.stdout)
    assert re.search(r"^SKIPPED \[1\] test_module_skip\.py:\d+: could not import", r.stdout, re.M), r.stdout
    assert "1 passed, 6 skipped, 1 xfailed" in r.stdout
    assert got.get("test_passes") == "PASSED" and got.get("test_xfail") == "XFAIL"
    assert "CI:" not in r.stdout


def test_ci_fails_a_module_level_skip(tmp_path: Path):
    """A module-level importorskip (a missing extra) is a collection error under CI: the run stops."""
    r = run_tree(tmp_path, "true", test_module_skip=MODULE_SKIP)
    assert r.returncode == 2, r.stdout
    assert outcomes(r.stdout).get("test_module_skip") == "ERROR", r.stdout
    assert "CI=true: skipped (could not import 'no_such_module_at_module_level'" in r.stdout
    assert "CI: 0 tests ran, 0 skipped, 1 errors" in r.stdout
