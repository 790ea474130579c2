"""The real generation path: the embedded SmolLM2 through llama.cpp, the CLI in a subprocess, and a
run killed with SIGKILL then resumed (nothing finished lost, nothing duplicated)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "cycleresearcher.cli"]


def write_sets(folder: Path, count: int) -> list[Path]:
    topics = [
        "sparse attention",
        "retrieval augmentation",
        "reward modelling",
        "data pruning",
        "model merging",
    ]
    paths = []
    for i in range(count):
        path = folder / f"set{i}.bib"
        path.write_text(
            f"@article{{first{i},\n  title={{A study of {topics[i]}}},\n  author={{Doe, Jane}},\n  year={{2023}},\n"
            f"  abstract={{We study {topics[i]} for language models and report gains on two benchmarks.}}\n}}\n\n"
            f"@inproceedings{{second{i},\n  title={{Scaling {topics[i]}}},\n  author={{Roe, Rick}},\n  year={{2024}},\n"
            f"  abstract={{Scaling {topics[i]} to larger models changes which methods work best.}}\n}}\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def test_generate_on_the_embedded_model(tmp_path):
    from cycleresearcher.research import CycleResearcher, ResearchSettings
    from cycleresearcher.store import RunStore

    [bib] = write_sets(tmp_path, 1)
    researcher = CycleResearcher(engine="llamacpp", run_dir=tmp_path / "run")
    try:
        papers = researcher.generate([bib], ResearchSettings(n=2, max_tokens=24, seed=1))
        assert researcher.engine.name == "llamacpp"
    finally:
        researcher.close()
    assert len(papers) == 2
    for paper in papers:
        assert paper.generated_text.strip(), "the model wrote nothing"
        assert paper.results_simulated is True
        assert paper.warnings, (
            "the tiny model does not follow the format: the parse must be partial with warnings"
        )
        assert paper.meta["engine"]["engine"] == "llamacpp"
    with RunStore(tmp_path / "run") as store:
        [row] = store.request_rows("research")
        assert row["status"] == "done"
        assert 0 < row["completion_tokens"] <= 48  # two samples of at most 24 tokens
        assert row["prompt_tokens"] > 100
        assert len(store.items("paper")) == 2


def _papers_in(db: Path) -> dict[str, str]:
    if not db.exists():
        return {}
    try:
        con = sqlite3.connect(db, timeout=5)
        rows = con.execute("SELECT key, data FROM records WHERE kind = 'paper'").fetchall()
        con.close()
    except sqlite3.OperationalError:
        return {}
    return {k: json.loads(d)["generated_text"] for k, d in rows}


@pytest.mark.parametrize("kill_after", [0, 1])
def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path, kill_after):
    sets = write_sets(tmp_path, 3)
    run = tmp_path / "run"
    args = [
        *CLI,
        "research",
        "generate",
        *map(str, sets),
        "-n",
        "1",
        "--max-tokens",
        "40",
        "--seed",
        "3",
        "--no-pdf",
        "-o",
        str(run),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    db = run / "run.sqlite"
    deadline = time.time() + 300
    before: dict[str, str] = {}
    while time.time() < deadline and proc.poll() is None:
        before = _papers_in(db)
        if len(before) >= kill_after and (kill_after > 0 or db.exists()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, (
        "the run finished before it could be killed: " + proc.stdout.read().decode()[-2000:]
    )
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _papers_in(db)
    assert len(before) >= kill_after

    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = _papers_in(db)
    assert len(after) == 3, f"expected one paper per reference set, got {sorted(after)}"
    for key, text in before.items():
        assert after[key] == text, "a paper finished before the kill was regenerated"
    con = sqlite3.connect(db)
    rows = con.execute("SELECT status, attempts FROM requests WHERE stage = 'research'").fetchall()
    con.close()
    assert len(rows) == 3 and all(status == "done" for status, _ in rows)
    # requests finished before the kill ran exactly once
    assert sum(1 for _, attempts in rows if attempts == 1) == 3
    assert sorted(p.name for p in (run / "papers").iterdir()) == sorted(after)


def test_cli_generate_writes_exports_and_summary(tmp_path):
    [bib] = write_sets(tmp_path, 1)
    run = tmp_path / "run"
    result = subprocess.run(
        [*CLI, "research", "generate", str(bib), "-n", "1", "--max-tokens", "16", "--no-pdf", "-o", str(run)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "embedded SmolLM2" in result.stderr  # the one-line notice about the stand-in
    assert "SIMULATED" in result.stderr
    [folder] = list((run / "papers").iterdir())
    data = json.loads((folder / "paper.json").read_text())
    assert data["results_simulated"] is True and data["generated_text"]
    assert (folder / "paper.md").read_text().count("AI-generated") >= 1
    assert (folder / "latex" / "main.tex").exists()


def test_openai_server_with_an_api_key_that_is_never_written(tmp_path, embedded_gguf):
    """Through a real llama_cpp.server that requires a key: without it the request fails cleanly,
    with --api-key the paper is generated, and the key appears in no file of the run."""
    from conftest import llama_server_process

    secret = "sk-test-7f3a9c2e5b"
    [bib] = write_sets(tmp_path, 1)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    with llama_server_process(embedded_gguf, n_ctx=2048, api_key=secret) as url:
        base = [
            *CLI,
            "research",
            "generate",
            str(bib),
            "-n",
            "1",
            "--max-tokens",
            "16",
            "--no-pdf",
            "--base-url",
            url,
        ]
        denied = subprocess.run(
            [*base, "-o", str(tmp_path / "denied")], capture_output=True, text=True, env=env, timeout=300
        )
        ok = subprocess.run(
            [*base, "--api-key", secret, "-o", str(tmp_path / "run")],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    # without the key the server refuses at once: a one-line error, exit 2, no traceback
    assert denied.returncode == 2 and "401" in denied.stderr and "Traceback" not in denied.stderr, (
        denied.stderr[-2000:]
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "0 failed request" in ok.stderr
    [folder] = list((tmp_path / "run" / "papers").iterdir())
    assert json.loads((folder / "paper.json").read_text())["generated_text"]
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"the API key was written to {path}"
    assert secret not in ok.stdout + ok.stderr
