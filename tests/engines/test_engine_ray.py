"""``--engine ray`` on a real local Ray cluster (2 CPUs) with the embedded model through llama.cpp in
the workers: generation and review through the run store, a worker SIGKILLed mid-run, a driver
SIGKILLed then resumed; and the GPU backend's Ray Data LLM config and row mapping."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cycleresearcher.engines import ChatRequest, SamplingParams
from cycleresearcher.engines.ray_engine import (
    VLLMProcessorSettings,
    postprocess_row,
    preprocess_row,
    request_row,
    vllm_processor_kwargs,
)

CLI = [sys.executable, "-m", "cycleresearcher.cli"]
INNER = '{"n_ctx": 1024, "n_threads": 1}'


# --- the GPU backend's mapping (pure) --------------------------------------------------------


def test_vllm_processor_config_builds_on_the_real_ray_data_llm_class():
    pytest.importorskip("ray")
    pytest.importorskip("aiohttp")  # ray.data.llm imports it; vLLM itself is not needed
    from ray.data.llm import vLLMEngineProcessorConfig

    s = VLLMProcessorSettings(
        model="WestlakeNLP/CycleResearcher-ML-12B",
        replicas=4,
        tensor_parallel_size=2,
        pipeline_parallel_size=2,
        max_model_len=60000,
        batch_size=8,
    )
    config = vLLMEngineProcessorConfig(**vllm_processor_kwargs(s))
    assert config.model_source == "WestlakeNLP/CycleResearcher-ML-12B"
    assert config.concurrency == 4 and config.batch_size == 8
    assert config.engine_kwargs["tensor_parallel_size"] == 2
    assert config.engine_kwargs["pipeline_parallel_size"] == 2
    assert config.engine_kwargs["max_model_len"] == 60000
    assert config.should_continue_on_error is True
    assert "max_model_len" not in vllm_processor_kwargs(VLLMProcessorSettings(model="m"))["engine_kwargs"]


def test_request_rows_carry_the_in_process_vllm_sampling():
    req = ChatRequest(
        [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        SamplingParams(temperature=0.7, top_p=0.9, max_tokens=64, stop=["## End"], seed=5, ignore_eos=True),
    )
    row = preprocess_row(request_row(3, req))
    assert row["index"] == 3
    assert row["messages"] == req.messages
    assert row["sampling_params"] == {
        "n": 1,
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 64,
        "stop": ["## End"],
        "seed": 5,
        "ignore_eos": True,
        "skip_special_tokens": True,
    }
    assert request_row(0, ChatRequest([{"role": "user", "content": "x"}]))["sampling_params"]["stop"] is None


def test_postprocess_maps_outputs_lengths_and_errors():
    base = {"index": 2, "sampling_params": {"max_tokens": 4}, "num_input_tokens": 11}
    full = postprocess_row({**base, "generated_text": "abcd", "num_generated_tokens": 4})
    assert full == {
        "index": 2,
        "result": {
            "completions": [{"text": "abcd", "finish_reason": "length", "completion_tokens": 4}],
            "prompt_tokens": 11,
        },
    }
    short = postprocess_row({**base, "generated_text": "ab", "num_generated_tokens": 2})
    assert short["result"]["completions"][0]["finish_reason"] == "stop"
    failed = postprocess_row({**base, "__inference_error__": "prompt too long"})
    assert failed["result"]["error"] == "prompt too long" and failed["result"]["completions"] == []


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"backend": "spark"}, "backend must be one of"),
        ({"workers": 0}, "workers must be >= 1"),
        ({"inner": "ray"}, "would nest clusters"),
        ({"inner_opts": "{n_ctx: 2}"}, "inner_opts must be a JSON object"),
        ({"inner_opts": "[1]"}, "inner_opts must be a JSON object"),
    ],
)
def test_bad_options_are_refused_before_a_cluster_starts(opts, message):
    from cycleresearcher.engines.ray_engine import RayEngine
    from cycleresearcher.errors import InputError

    with pytest.raises(InputError, match=message):
        RayEngine("m", **opts)


# --- a real cluster --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("llama_cpp")
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}},
    )
    yield ray
    ray.shutdown()


def _requests(count: int, max_tokens: int) -> list[ChatRequest]:
    return [
        ChatRequest(
            [{"role": "user", "content": f"Name one use of topic {i} in machine learning."}],
            SamplingParams(max_tokens=max_tokens, seed=i, temperature=0.4),
        )
        for i in range(count)
    ]


def _attempts(db: Path) -> dict[tuple[str, int], tuple[str, str, int]]:
    con = sqlite3.connect(db)
    rows = con.execute("SELECT request_key, sample, status, text, attempts FROM samples").fetchall()
    con.close()
    return {(k, s): (st, t, a) for k, s, st, t, a in rows}


@pytest.mark.slow
def test_generation_and_review_through_the_run_store(cluster, embedded_gguf, tmp_path, data_dir):
    from cycleresearcher.engines import load_engine
    from cycleresearcher.engines.runner import run_requests
    from cycleresearcher.review.cyclereviewer import CycleReviewer
    from cycleresearcher.review.runner import review_files
    from cycleresearcher.store import RunStore

    engine = load_engine("ray", model=embedded_gguf, workers=2, inner_opts=INNER)
    try:
        assert len(set(engine.worker_pids())) == 2 and os.getpid() not in engine.worker_pids()
        reqs = _requests(3, 8)
        reqs[0].sampling.n = 2
        seen: list[int] = []
        with RunStore(tmp_path / "gen") as store:
            results = run_requests(engine, store, "research", reqs, on_result=lambda i, r: seen.append(i))
        assert sorted(seen) == [0, 1, 2]
        assert all(r.ok and r.text.strip() for r in results)
        assert len(results[0].completions) == 2
        attempts = _attempts(tmp_path / "gen" / "run.sqlite")
        assert len(attempts) == 4 and all(v[0] == "done" and v[2] == 1 for v in attempts.values())
        # the same prompt and seed as the in-process engine: the workers run the same model
        direct = load_engine("llamacpp", model=embedded_gguf, n_ctx=1024, n_threads=1)
        try:
            assert direct.generate([reqs[1]])[0].text == results[1].text
        finally:
            direct.close()
    finally:
        engine.close()
    assert cluster.is_initialized(), "an engine must not shut down a cluster it did not start"

    paper = data_dir / "review_run" / "papers" / "graphmix.tex"
    reviewer = CycleReviewer(model="embedded", engine="ray", max_tokens=16, workers=2, inner_opts=INNER)
    try:
        outcome = review_files([str(paper)], reviewer, tmp_path / "rev")
    finally:
        reviewer.close()
    [o] = outcome.outcomes
    assert o.review.raw_text.strip()
    with RunStore(tmp_path / "rev") as store:
        assert [r["status"] for r in store.request_rows()] == ["done"]


@pytest.mark.slow
def test_a_worker_sigkilled_mid_run_has_its_request_retried_once(cluster, embedded_gguf, tmp_path):
    from cycleresearcher.engines import load_engine
    from cycleresearcher.engines.runner import run_requests
    from cycleresearcher.store import RunStore

    engine = load_engine("ray", model=embedded_gguf, workers=2, inner_opts=INNER)
    try:
        pids = engine.worker_pids()
        first: dict[int, str] = {}
        calls: list[int] = []
        killed: list[int] = []

        def kill_busy_worker() -> None:
            time.sleep(0.5)  # both workers are generating again by now
            os.kill(pids[0], signal.SIGKILL)
            killed.append(len(calls))  # requests reported by the time of the kill

        def on_result(i: int, res) -> None:  # type: ignore[no-untyped-def]
            calls.append(i)
            first.setdefault(i, res.text)
            if len(calls) == 1:
                threading.Thread(target=kill_busy_worker, daemon=True).start()

        reqs = _requests(6, 32)
        with RunStore(tmp_path / "run") as store:
            results = run_requests(engine, store, "research", reqs, on_result=on_result)
        assert len(killed) == 1 and killed[0] < 6, "the worker was killed before the run ended"
        new_pids = engine.worker_pids()
        assert new_pids[0] != pids[0], "Ray restarted the killed worker in a new process"
        assert new_pids[1] == pids[1]
    finally:
        engine.close()
    # every request finished exactly once, all of them well, and what came back is what was stored
    assert sorted(calls) == list(range(6))
    assert all(r.ok and r.text.strip() for r in results), [r.error for r in results]
    attempts = _attempts(tmp_path / "run" / "run.sqlite")
    assert len(attempts) == 6
    assert all(status == "done" and n == 1 for status, _text, n in attempts.values())
    assert sorted(t for _s, t, _n in attempts.values()) == sorted(first.values())


def _bib(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        p = folder / f"set{i}.bib"
        p.write_text(
            f"@article{{a{i},\n  title={{Topic {i}}},\n  author={{Doe, Jane}},\n  year={{2024}},\n"
            f"  abstract={{We study topic {i} for language models.}}\n}}\n",
            encoding="utf-8",
        )
        paths.append(p)
    return paths


def _samples(db: Path) -> dict[tuple[str, int], tuple[str, str, int, float]]:
    if not db.exists():
        return {}
    try:
        con = sqlite3.connect(db, timeout=5)
        rows = con.execute(
            "SELECT request_key, sample, status, text, attempts, created_at FROM samples"
        ).fetchall()
        con.close()
    except sqlite3.OperationalError:
        return {}
    return {(k, s): (st, t, a, c) for k, s, st, t, a, c in rows}


@pytest.mark.slow
def test_driver_sigkilled_then_resume_keeps_every_stored_sample(cluster, tmp_path):
    """The CLI (its own local Ray cluster) SIGKILLed once one sample is stored; ``--resume``
    draws only the missing samples and leaves the stored ones untouched."""
    sets = _bib(tmp_path, 2)
    run = tmp_path / "run"
    args = [*CLI, "research", "generate", *map(str, sets), "-n", "2", "--max-tokens", "24", "--seed", "3"]
    args += ["--no-pdf", "-o", str(run), "--engine", "ray", "--engine-opt", "workers=2"]
    args += ["--engine-opt", "num_cpus=2", "--engine-opt", f"inner_opts={INNER}"]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    db = run / "run.sqlite"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if any(s[0] == "done" for s in _samples(db).values()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, (
        "the run ended before it could be killed: " + proc.stdout.read().decode()[-3000:]
    )
    os.kill(proc.pid, signal.SIGKILL)  # the driver only: its Ray cluster must not finish the run
    proc.wait()
    time.sleep(1)
    kept = {k: s for k, s in _samples(db).items() if s[0] == "done"}
    assert 1 <= len(kept) < 4
    try:
        resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=env, timeout=600)
    finally:
        os.killpg(proc.pid, signal.SIGKILL) if _alive_group(proc.pid) else None
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = _samples(db)
    assert len(after) == 4 and all(s[0] == "done" for s in after.values())
    for key, sample in kept.items():
        assert after[key] == sample, "a sample stored before the kill was generated again"
    assert all(s[2] == 1 for s in after.values()), "every sample was generated exactly once"


def _alive_group(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return True
