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


def _samples_in(db: Path) -> dict[int, tuple[str, str, int, float]]:
    """Sample index -> (status, text, attempts, created_at) of the run's samples (read by another process)."""
    if not db.exists():
        return {}
    try:
        con = sqlite3.connect(db, timeout=5)
        rows = con.execute("SELECT sample, status, text, attempts, created_at FROM samples").fetchall()
        con.close()
    except sqlite3.OperationalError:  # not created yet (or, before per-sample storage, never)
        return {}
    return {k: (status, text, attempts, created) for k, status, text, attempts, created in rows}


def _done(samples: dict[int, tuple[str, str, int, float]]) -> dict[int, tuple[str, str, int, float]]:
    return {k: s for k, s in samples.items() if s[0] == "done"}


@pytest.mark.parametrize("kill_at", [1, 2])
def test_sigkill_mid_request_keeps_finished_samples_and_resume_draws_only_the_rest(tmp_path, kill_at):
    """One reference set, -n 3: SIGKILL once the store holds ``kill_at`` finished samples. They
    are kept (and already exported), and the resume generates only the missing ones."""
    [bib] = write_sets(tmp_path, 1)
    run = tmp_path / "run"
    args = [*CLI, "research", "generate", str(bib), "-n", "3", "--max-tokens", "24", "--seed", "3"]
    # two samples decoded together, the third after one of them: samples end one by one (four
    # together would end the last two in the same step, leaving no moment with exactly two stored)
    args += ["--no-pdf", "-o", str(run), "--engine-opt", "max_sequences=2"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    db = run / "run.sqlite"

    def exported() -> int:
        return len(list((run / "papers").glob("*/paper.json"))) if (run / "papers").exists() else 0

    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if len(_done(_samples_in(db))) >= kill_at and exported() >= kill_at:
            break
        time.sleep(0.05)
    assert proc.poll() is None, (
        f"the run ended before it held {kill_at} stored sample(s): " + proc.stdout.read().decode()[-2000:]
    )
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = _done(_samples_in(db))
    assert kill_at <= len(kept) < 3
    # each finished sample's paper is stored right after it (the kill may fall between the two)
    assert kill_at <= len(_papers_in(db)) <= len(kept)

    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = _samples_in(db)
    assert sorted(after) == [0, 1, 2] and all(s[0] == "done" for s in after.values())
    for k, sample in kept.items():
        assert after[k] == sample, f"sample {k}, stored before the kill, was generated again"
    # every sample was generated exactly once: the resume drew only the 3 - len(kept) missing ones
    assert [after[k][2] for k in range(3)] == [1, 1, 1]
    papers = _papers_in(db)
    assert len(papers) == 3
    assert sorted(papers.values()) == sorted(s[1] for s in after.values())
    assert sorted(p.name for p in (run / "papers").iterdir()) == sorted(papers)
    con = sqlite3.connect(db)
    [(status, attempts, tokens)] = con.execute(
        "SELECT status, attempts, completion_tokens FROM requests WHERE stage = 'research'"
    ).fetchall()
    regenerated = con.execute(
        "SELECT COUNT(*) FROM samples WHERE created_at > ?", (max(s[3] for s in kept.values()),)
    ).fetchone()[0]
    con.close()
    assert status == "done" and attempts == 1 and 0 < tokens <= 3 * 24
    assert regenerated == 3 - len(kept)
    print(f"kill at {kill_at}: kept {len(kept)} sample(s), regenerated {regenerated}")


def test_server_killed_mid_batch_keeps_returned_samples_and_resume_asks_only_for_the_rest(
    tmp_path, embedded_gguf
):
    """A real llama_cpp.server SIGKILLed as soon as it has returned the first sample of a 3-sample
    request: what it returned is stored, the rest is reported failed (not lost, not empty text),
    and a resume against a restarted server asks only for the failed samples."""
    from conftest import start_llama_server
    from cycleresearcher.research import CycleResearcher, ResearchSettings
    from cycleresearcher.store import RunStore

    [bib] = write_sets(tmp_path, 1)
    run = tmp_path / "run"
    settings = ResearchSettings(n=3, max_tokens=24, seed=11)
    server, url = start_llama_server(embedded_gguf, n_ctx=2048)
    try:

        def kill_server_after_first(paper) -> None:
            if server.poll() is None:
                os.kill(server.pid, signal.SIGKILL)
                server.wait()

        first = CycleResearcher(engine="openai", base_url=url, run_dir=run, max_retries=0, max_concurrency=3)
        try:
            papers = first.generate([bib], settings, on_paper=kill_server_after_first)
        finally:
            first.close()
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()
    failed = [p for p in papers if any("generation failed" in w for w in p.warnings)]
    assert len(papers) == 3 and 1 <= len(failed) <= 2, [p.warnings[:1] for p in papers]
    with RunStore(run) as store:
        [row] = store.request_rows("research")
        kept = {k: (s.completion.text, s.attempts) for k, s in store.samples(row["key"]).items() if s.ok}
        lost = {k: s.error for k, s in store.samples(row["key"]).items() if not s.ok}
    assert row["status"] == "failed" and f"{len(lost)} of 3 samples failed" in row["error"]
    assert len(kept) == 3 - len(failed) and len(lost) == len(failed) and all(lost.values())
    assert all(text for text, _ in kept.values()), "a returned sample was stored empty"

    server, url = start_llama_server(embedded_gguf, n_ctx=2048)
    try:
        second = CycleResearcher(engine="openai", base_url=url, run_dir=run, max_retries=0)
        try:
            again = second.generate([bib], settings)
        finally:
            second.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert len(again) == 3 and not any("generation failed" in w for p in again for w in p.warnings)
    with RunStore(run) as store:
        [row] = store.request_rows("research")
        samples = store.samples(row["key"])
    assert row["status"] == "done"
    for k, (text, attempts) in kept.items():
        assert samples[k].completion.text == text and attempts == 1, f"sample {k} changed on resume"
    # the failed samples were asked for once more, the kept ones not at all
    assert {k: s.attempts for k, s in samples.items()} == {k: 1 if k in kept else 2 for k in range(3)}
    print(f"server killed: kept {len(kept)} sample(s), regenerated {len(lost)}")
