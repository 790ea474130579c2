"""``--engine ray`` on one real local Ray cluster (2 CPUs) per module, the embedded model in the
workers: generation and review through the run store, a worker SIGKILLed mid-run, a driver that
joined the cluster SIGKILLed after its first result and resumed, one train round sampling and
reviewing on the cluster; and the GPU backend's Ray Data LLM config, rows and results checked
against the real ``ray.data.llm`` processor (no vLLM here)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cycleresearcher.engines import ChatRequest, Completion, SamplingParams
from cycleresearcher.engines.ray_engine import (
    VLLMProcessorSettings,
    postprocess_row,
    preprocess_row,
    request_row,
    result_from_row,
    vllm_processor_kwargs,
)

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
        SamplingParams(
            temperature=0.7,
            top_p=0.9,
            max_tokens=64,
            stop=["## End"],
            seed=5,
            ignore_eos=True,
            grammar='root ::= "x"',
            repeat_penalty=1.2,
        ),
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
        "repetition_penalty": 1.2,
        "structured_outputs": {"grammar": 'root ::= "x"'},
    }
    plain = request_row(0, ChatRequest([{"role": "user", "content": "x"}]))["sampling_params"]
    assert plain["stop"] is None and plain["repetition_penalty"] == 1.0 and "structured_outputs" not in plain


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


#: a second driver on the module's cluster: 4 requests through the run store, the first much
#: shorter than the others (EOS ignored, so lengths are exact)
DRIVER = """
import sys
from cycleresearcher.engines import ChatRequest, SamplingParams, load_engine
from cycleresearcher.engines.runner import run_requests
from cycleresearcher.store import RunStore

address, run, model, inner_opts = sys.argv[1:5]
requests = [
    ChatRequest(
        [{"role": "user", "content": f"Name one use of topic {i} in machine learning."}],
        SamplingParams(max_tokens=n, seed=i, temperature=0.4, ignore_eos=True),
    )
    for i, n in enumerate((2, 64, 64, 64))
]
engine = load_engine("ray", model=model, address=address, workers=2, inner_opts=inner_opts)
try:
    with RunStore(run) as store:
        run_requests(engine, store, "research", requests)
finally:
    engine.close()
"""


def _by_seed(db: Path) -> dict[int, tuple[str, str, int, float]]:
    """Stored samples by their request's seed: (status, text, attempts, finished_at)."""
    if not db.exists():
        return {}
    try:
        con = sqlite3.connect(db, timeout=5)
        rows = con.execute(
            "SELECT r.payload, s.status, s.text, s.attempts, s.finished_at "
            "FROM samples s JOIN requests r ON r.key = s.request_key"
        ).fetchall()
        con.close()
    except sqlite3.OperationalError:  # not created yet
        return {}
    return {json.loads(p)["sampling"]["seed"]: (st, t, a, f) for p, st, t, a, f in rows}


@pytest.mark.slow
def test_a_driver_sigkilled_after_its_first_result_keeps_it_and_resume_draws_only_the_rest(
    cluster, embedded_gguf, tmp_path
):
    """Request 0 (2 tokens) finishes long before requests 1-3 (64 tokens; 1 runs beside it on the
    other worker). The driver is SIGKILLed as soon as one sample is stored: an engine reporting
    each request as it finishes has stored exactly request 0 then; one that reports at the end
    of the batch (or of each round of workers) has stored nothing or several by then."""
    address = cluster.get_runtime_context().gcs_address
    run = tmp_path / "run"
    args = [sys.executable, "-c", DRIVER, address, str(run), embedded_gguf, INNER]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    db = run / "run.sqlite"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not _by_seed(db):
        time.sleep(0.02)
    assert proc.poll() is None, "the driver ended before it was killed: " + proc.stdout.read().decode()[-3000:]
    os.kill(proc.pid, signal.SIGKILL)  # the driver only: the cluster stays, the driver's actors go
    proc.wait()
    time.sleep(0.5)
    kept = _by_seed(db)
    assert sorted(kept) == [0], f"stored when the first result was reported: requests {sorted(kept)}"
    assert kept[0][0] == "done" and kept[0][1]

    resumed = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    after = _by_seed(db)
    assert sorted(after) == [0, 1, 2, 3] and all(s[0] == "done" and s[1] for s in after.values())
    assert after[0] == kept[0], "the sample stored before the kill was generated again"
    assert all(s[2] == 1 for s in after.values()), "every sample was generated exactly once"


# --- a train round on the cluster ------------------------------------------------------------


def _cycle_config(tmp_path: Path, sets: Path) -> Path:
    path = tmp_path / "cycle.toml"
    path.write_text(
        f"""
rounds = 1
output_dir = {json.dumps(str(tmp_path / "run"))}
[policy]
model = "embedded"
[data]
references = {json.dumps(str(sets))}
max_sets = 2
[sampling]
k = 2
engine = "ray"
max_tokens = 12
temperature = 1.0
top_p = 1.0
stop = []
engine_options = {{ workers = 2 }}
[reward]
kind = "cyclereviewer"
model = "embedded"
engine = "ray"
options = {{ max_tokens = 6 }}
engine_options = {{ workers = 2, inner_opts = {{ n_ctx = 1024, n_threads = 1 }} }}
[pairing]
require_parse = false
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_a_train_round_samples_and_reviews_on_the_cluster(cluster, embedded_hf_dir, data_dir, tmp_path):
    """``sampling.engine = "ray"`` and ``reward.engine = "ray"``: the round's k = 2 samples of 2
    sets come from hf workers on the policy dir, their reviews from llama.cpp workers on the
    embedded reviewer; every sample and review is stored once. The reviews are cut at 6 tokens,
    so no rating is parsed (unrated: no pair, no training step: that is tests/test_train_*.py)."""
    from cycleresearcher.store import RunStore
    from cycleresearcher.train.config import load_config
    from cycleresearcher.train.rewards import load_reward
    from cycleresearcher.train.rounds import Hooks, _default_engine, run_cycle

    engines: list[dict] = []

    def record(engine):  # type: ignore[no-untyped-def]
        pids = engine.worker_pids()
        engines.append({**engine.describe(), "pids": pids})
        return engine

    def make_reward(cfg, store):  # type: ignore[no-untyped-def]
        reward = load_reward(cfg.reward, cfg.base_dir, store=store)
        record(reward.reviewer.engine)
        return reward

    cfg = load_config(_cycle_config(tmp_path, data_dir / "train" / "sets"))
    hooks = Hooks(make_engine=lambda policy, c: record(_default_engine(policy, c)), make_reward=make_reward)
    (report,) = run_cycle(cfg, hooks)
    assert cluster.is_initialized()

    sampler, reviewer = engines
    assert (sampler["engine"], sampler["inner"], sampler["workers"]) == ("ray", "hf", 2)
    assert sampler["model"] == embedded_hf_dir
    assert (reviewer["engine"], reviewer["inner"], reviewer["workers"]) == ("ray", "llamacpp", 2)
    for e in engines:
        assert len(set(e["pids"])) == 2 and os.getpid() not in e["pids"]
    assert report["samples"] == 4 and report["generation_failed"] == 0
    assert report["unrated"] == 4 and report["pairs"] == 0

    db = tmp_path / "run" / "run.sqlite"
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT r.stage, r.payload, r.status, r.attempts, s.sample, s.status, s.text, s.attempts "
        "FROM requests r JOIN samples s ON s.request_key = r.key"
    ).fetchall()
    con.close()
    by_stage: dict[str, list] = {}
    for stage, payload, status, attempts, k, sample_status, text, sample_attempts in rows:
        # every request and every sample done, once
        assert (status, attempts, sample_status, sample_attempts) == ("done", 1, "done", 1), stage
        by_stage.setdefault(stage, []).append((json.loads(payload), k, text))
    assert sorted(by_stage) == ["review", "train.sample"]
    sampled = by_stage["train.sample"]
    assert sorted(k for _, k, _ in sampled) == [0, 0, 1, 1]
    # two equal texts would be one review request (content-hashed) asked twice
    assert len({t for _, _, t in sampled}) == 4, "two samples coincide; change the sampling settings"
    assert len({p["request_id"] for p, _, _ in sampled}) == 2
    # each sampled text was reviewed exactly once: it is the user turn of one review request
    turns = [p["messages"][1]["content"] for p, _, _ in by_stage["review"]]
    assert len(turns) == 4
    for _, _, text in sampled:
        assert sum(text.strip() in turn for turn in turns) == 1, text
    with RunStore(tmp_path / "run") as store:
        scores = dict(store.items("train.score"))
        reviewed = store.items("review")
    assert len(scores) == 4 and all(d["status"] == "unrated" for d in scores.values())
    assert len(reviewed) == 4


# --- the GPU backend against the real Ray Data LLM processor ---------------------------------


@pytest.mark.slow
def test_the_real_ray_data_llm_processor_takes_our_rows_and_its_results_map_back(cluster, embedded_hf_dir):
    pytest.importorskip("aiohttp")  # ray.data.llm imports it; vLLM itself is not needed to build
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    settings = VLLMProcessorSettings(model=embedded_hf_dir, replicas=2, max_model_len=2048)
    processor = build_processor(
        vLLMEngineProcessorConfig(**vllm_processor_kwargs(settings)),
        preprocess=preprocess_row,
        postprocess=postprocess_row,
    )
    names = processor.list_stage_names()
    assert names == ["ChatTemplateStage", "TokenizeStage", "vLLMEngineStage", "DetokenizeStage"]
    engine_stage = processor.get_stage_by_name("vLLMEngineStage")
    kwargs = engine_stage.fn_constructor_kwargs
    assert kwargs["model"] == embedded_hf_dir and kwargs["should_continue_on_error"] is True
    assert kwargs["engine_kwargs"]["enable_prefix_caching"] is True
    assert kwargs["engine_kwargs"]["max_model_len"] == 2048
    assert engine_stage.map_batches_kwargs["compute"].max_size == 2  # replicas: up to 2 vLLM engines

    req = ChatRequest(
        [{"role": "user", "content": "hi"}], SamplingParams(max_tokens=4, grammar='root ::= "x"')
    )
    data = processor.preprocess(request_row(5, req))[processor.DATA_COLUMN]
    # what the stages read from our rows (the others read what earlier stages add)
    for name in ("ChatTemplateStage", "vLLMEngineStage"):
        assert set(processor.get_stage_by_name(name).get_required_input_keys()) <= set(data), name

    # Ray's own chat-template step on our rows writes the prompt the in-process engines write,
    # continuing a final assistant turn (research complete) instead of closing it
    import asyncio

    from transformers import AutoTokenizer

    from cycleresearcher.engines.hf import chat_prompt

    template = processor.get_stage_by_name("ChatTemplateStage")
    udf = template.fn(
        **template.get_dataset_map_batches_kwargs(1, processor.DATA_COLUMN)["fn_constructor_kwargs"]
    )
    chats = [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a graph."}],
        [{"role": "user", "content": "Write a title."}, {"role": "assistant", "content": "\\title{Sparse"}],
    ]
    rows = [
        {**processor.preprocess(request_row(i, ChatRequest(c)))[processor.DATA_COLUMN], udf.IDX_IN_BATCH_COLUMN: i}
        for i, c in enumerate(chats)
    ]

    async def prompts() -> dict[int, str]:
        return {out[udf.IDX_IN_BATCH_COLUMN]: out["prompt"] async for out in udf.udf(rows)}

    tokenizer = AutoTokenizer.from_pretrained(embedded_hf_dir)
    got = asyncio.run(prompts())
    assert got == {i: chat_prompt(tokenizer, c) for i, c in enumerate(chats)}
    assert got[1].endswith("\\title{Sparse")

    # the vLLM stage's outputs (vLLMOutputData's fields), through Ray's own postprocess wrapper
    done = {**data, "generated_text": "abcd", "num_generated_tokens": 4, "num_input_tokens": 11}
    index, res = result_from_row(processor.postprocess({processor.DATA_COLUMN: done}))
    assert index == 5 and res.ok and res.prompt_tokens == 11
    assert res.completions == [Completion("abcd", "length", 4)]
    # a failed row skips our postprocess: Ray hands over the whole row with the error
    failed = {**data, "__inference_error__": "prompt is longer than max_model_len"}
    index, res = result_from_row(processor.postprocess({processor.DATA_COLUMN: failed}))
    assert index == 5 and not res.ok and "longer than max_model_len" in (res.error or "")
