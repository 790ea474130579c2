"""Scale-out on a Ray cluster: ``--engine ray``.

Two backends, one contract (``Engine.generate`` with ``on_result`` as each request finishes, so
the run store commits every sample as it lands and ``--resume`` redoes only the missing ones):

* ``backend=actors`` (CPUs, CI): ``workers`` Ray actors, each running one of this project's
  engines: by default the one the model would run in-process (``llamacpp`` for a GGUF or the
  embedded model, ``hf`` for a transformers dir such as a training round's policy, ``vllm`` where
  CUDA and vLLM are), or ``inner=openai`` against a pool of servers: ``base_urls=URL1,URL2``,
  one per worker. The driver keeps one request in flight per actor and hands the next one to
  whichever actor frees up first (``ray.wait``), and reports each result as it arrives. A worker
  process that dies is restarted by Ray (``max_restarts``) and its in-flight request re-run
  (``max_task_retries``); if an actor is gone for good its request goes back to the queue for the
  others. A request that already finished is never sent again: only the driver reports results.
* ``backend=vllm`` (GPUs): Ray Data LLM (``ray.data.llm.build_processor`` with a
  ``vLLMEngineProcessorConfig``): ``replicas`` vLLM engines, each ``tensor_parallel_size`` x
  ``pipeline_parallel_size`` GPUs, the same sampling mapping as ``engines/vllm.py``.
  The processor's config and row mapping are the pure functions below (tested without vLLM,
  against the real ``ray.data.llm`` processor).

Inner engine options: ``inner_opts`` as a JSON object (``--engine-opt 'inner_opts={"n_ctx": 2048}'``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from ..errors import InputError, require
from .base import Batch, ChatRequest, Completion, Engine, GenerationResult

BACKENDS = ("actors", "vllm")


def _parse_opts(inner_opts: str | dict[str, Any] | None) -> dict[str, Any]:
    if inner_opts is None or inner_opts == "":
        return {}
    if isinstance(inner_opts, dict):
        return dict(inner_opts)
    try:
        value = json.loads(inner_opts)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"inner_opts must be a JSON object, e.g. inner_opts='{{\"n_ctx\": 2048}}' ({exc})"
        ) from None
    if not isinstance(value, dict):
        raise InputError("inner_opts must be a JSON object, e.g. inner_opts='{\"n_ctx\": 2048}'")
    return value


# --- GPU path: Ray Data LLM, as pure functions -------------------------------------------------


@dataclass
class VLLMProcessorSettings:
    """What ``backend=vllm`` builds its ``vLLMEngineProcessorConfig`` from."""

    model: str
    replicas: int = 1
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    max_model_len: int | None = None
    batch_size: int = 16
    gpu_memory_utilization: float = 0.9
    dtype: str = "auto"
    trust_remote_code: bool = False


def vllm_processor_kwargs(s: VLLMProcessorSettings) -> dict[str, Any]:
    """Keyword arguments of ``ray.data.llm.vLLMEngineProcessorConfig`` for these settings.

    Prefix caching stands in for the in-process engine's shared prefill of n samples: the run
    store sends the n samples of a prompt as n rows (this engine draws one sample per row).
    """
    engine_kwargs: dict[str, Any] = {
        "tensor_parallel_size": s.tensor_parallel_size,
        "pipeline_parallel_size": s.pipeline_parallel_size,
        "gpu_memory_utilization": s.gpu_memory_utilization,
        "dtype": s.dtype,
        "trust_remote_code": s.trust_remote_code,
        "enable_prefix_caching": True,
    }
    if s.max_model_len is not None:
        engine_kwargs["max_model_len"] = s.max_model_len
    return {
        "model_source": s.model,
        "engine_kwargs": engine_kwargs,
        "concurrency": s.replicas,
        "batch_size": s.batch_size,
        # one bad prompt (too long) must fail its row, not the run
        "should_continue_on_error": True,
        # the model's own chat template, applied by Ray Data (continues a final assistant turn,
        # as engines/vllm.py does with continue_final_message)
        "chat_template_stage": True,
        "tokenize_stage": True,
        "detokenize_stage": True,
    }


def request_row(index: int, request: ChatRequest) -> dict[str, Any]:
    """One request as a Ray Data row: the same sampling as ``engines.vllm.to_vllm_sampling``."""
    sp = request.sampling
    params: dict[str, Any] = {
        "n": 1,
        "temperature": sp.temperature,
        "top_p": sp.top_p,
        "max_tokens": sp.max_tokens,
        "stop": list(sp.stop) or None,
        "seed": sp.seed,
        "ignore_eos": sp.ignore_eos,
        "skip_special_tokens": True,
        # always set (1.0 = off): rows of one dataset share a schema, and a row without the key
        # would reach vLLM as None
        "repetition_penalty": sp.repeat_penalty,
    }
    if sp.grammar:  # Ray's vLLM stage turns this into StructuredOutputsParams(grammar=...)
        params["structured_outputs"] = {"grammar": sp.grammar}
    return {
        "index": index,
        "messages": [{"role": m["role"], "content": m["content"]} for m in request.messages],
        "sampling_params": params,
    }


def preprocess_row(row: dict[str, Any]) -> dict[str, Any]:
    """Ray Data's preprocess: our row as the vLLM stage's input (``messages``, ``sampling_params``)."""
    return {"index": row["index"], "messages": row["messages"], "sampling_params": row["sampling_params"]}


def postprocess_row(row: dict[str, Any]) -> dict[str, Any]:
    """Ray Data's postprocess: the vLLM stage's output as a ``GenerationResult`` dict."""
    # Ray 2.60 hands a failed row past this function (see result_from_row); this branch is for a
    # Ray that does not
    error = row.get("__inference_error__")
    if error:
        return {"index": int(row["index"]), "result": {"error": str(error), "completions": []}}
    n_gen = int(row.get("num_generated_tokens") or 0)
    max_tokens = (row.get("sampling_params") or {}).get("max_tokens")
    finish = "length" if max_tokens is not None and n_gen >= int(max_tokens) else "stop"
    return {
        "index": int(row["index"]),
        "result": {
            "completions": [
                {"text": row.get("generated_text") or "", "finish_reason": finish, "completion_tokens": n_gen}
            ],
            "prompt_tokens": row.get("num_input_tokens"),
        },
    }


def result_from_row(row: dict[str, Any]) -> tuple[int, GenerationResult]:
    """One output row of the processor as (request index, result). A row that failed in a stage
    (``should_continue_on_error``) skips our postprocess: Ray hands over its whole data dict,
    ``__inference_error__`` set and no ``result``."""
    index = int(row["index"])
    error = row.get("__inference_error__")
    if error:
        return index, GenerationResult(error=f"RayDataError: {error}"[:2000])
    data = row["result"]
    return index, GenerationResult(
        completions=[Completion(**c) for c in data.get("completions") or []],
        prompt_tokens=data.get("prompt_tokens"),
        error=data.get("error"),
    )


# --- CPU path: an actor pool of this project's engines ---------------------------------------


def _worker_class(ray: Any) -> Any:
    class Worker:
        """One inner engine in one worker process."""

        def __init__(self, inner: str, model: str | None, opts: dict[str, Any]):
            from . import load_engine

            self.engine = load_engine(inner, model=model, **opts)

        def pid(self) -> int:
            return os.getpid()

        def info(self) -> dict[str, Any]:
            return {"context_length": self.engine.context_length, "describe": self.engine.describe()}

        def count_tokens(self, messages: list[dict[str, str]]) -> int:
            return self.engine.count_tokens(messages)

        def run(self, request: ChatRequest) -> GenerationResult:
            # the request object travels as is, so fields added later (e.g. a grammar) reach the
            # inner engine untouched
            return self.engine.generate([request])[0]

    return ray.remote(Worker)


class RayEngine(Engine):
    """``RayEngine(model, address=None, workers=2, inner=None, inner_opts=None, ...)``."""

    name = "ray"
    # one sample per request: each finished sample is stored as its worker returns it
    samples_at_once = False

    def __init__(
        self,
        model: str | None = None,
        *,
        address: str | None = None,
        backend: str = "actors",
        workers: int = 2,
        inner: str | None = None,
        inner_opts: str | dict[str, Any] | None = None,
        base_urls: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        cpus_per_worker: float = 1.0,
        gpus_per_worker: float = 0.0,
        max_restarts: int = 3,
        max_task_retries: int = 3,
        replicas: int = 1,
        tensor_parallel_size: int = 1,
        pipeline_parallel_size: int = 1,
        max_model_len: int | None = None,
        batch_size: int = 16,
        gpu_memory_utilization: float = 0.9,
        num_cpus: int | None = None,
    ):
        if backend not in BACKENDS:
            raise InputError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if workers < 1:
            raise InputError(f"workers must be >= 1, got {workers}")
        urls = [u.strip() for u in (base_urls or "").split(",") if u.strip()]
        if inner is None and backend == "actors":
            from . import choose_engine

            # what this model runs on in-process: a GGUF -> llamacpp, a transformers dir -> hf
            inner = "openai" if urls or base_url else choose_engine(model)
        if inner == "ray":
            raise InputError("inner=ray would nest clusters: pick llamacpp, hf, vllm or openai")
        self.inner_opts = _parse_opts(inner_opts)  # before Ray starts: a typo fails fast
        self.ray = require("ray", "ray", "the Ray engine")
        self.backend = backend
        self.model_id = model or ""
        self.inner = inner
        self.max_task_retries = max_task_retries
        addr = address or os.environ.get("RAY_ADDRESS") or None
        self._own_cluster = not self.ray.is_initialized()
        if self._own_cluster:
            init: dict[str, Any] = {"address": addr, "include_dashboard": False, "log_to_driver": False}
            if addr is None and num_cpus is not None:
                init["num_cpus"] = num_cpus
            if os.environ.get("PYTHONPATH"):  # workers must import the same cycleresearcher
                init["runtime_env"] = {"env_vars": {"PYTHONPATH": os.environ["PYTHONPATH"]}}
            self.ray.init(**init)
        self.address = addr or "local"
        self.settings: dict[str, Any] = {"backend": backend, "address": self.address}
        self.actors: list[Any] = []
        if backend == "vllm":
            self.vllm_settings = VLLMProcessorSettings(
                model=self.model_id,
                replicas=replicas,
                tensor_parallel_size=tensor_parallel_size,
                pipeline_parallel_size=pipeline_parallel_size,
                max_model_len=max_model_len,
                batch_size=batch_size,
                gpu_memory_utilization=gpu_memory_utilization,
            )
            self.context_length = max_model_len
            self.settings.update(
                vllm_processor_kwargs(self.vllm_settings)["engine_kwargs"], replicas=replicas
            )
            return
        if urls and inner != "openai":
            raise InputError("base_urls is for inner=openai (one server per worker)")
        if inner == "openai" and not urls and base_url:
            urls = [base_url]
        Worker = _worker_class(self.ray).options(
            num_cpus=cpus_per_worker,
            num_gpus=gpus_per_worker,
            max_restarts=max_restarts,
            max_task_retries=max_task_retries,
        )
        n = max(workers, len(urls)) if urls else workers
        for w in range(n):
            opts = dict(self.inner_opts)
            if urls:
                opts["base_url"] = urls[w % len(urls)]
                if api_key:
                    opts["api_key"] = api_key
            self.actors.append(Worker.remote(inner, model, opts))
        # wait for every model to load: a broken inner engine fails here, with its own message
        infos = self.ray.get([a.info.remote() for a in self.actors])
        self.context_length = infos[0]["context_length"]
        self.inner_describe = infos[0]["describe"]
        self.settings.update(workers=n, inner=inner, base_urls=len(urls) or None)

    # -- introspection --------------------------------------------------------------------

    def worker_pids(self) -> list[int]:
        """The process id of each worker (tests kill one to check the retry)."""
        return self.ray.get([a.pid.remote() for a in self.actors])

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        if self.actors:
            return int(self.ray.get(self.actors[0].count_tokens.remote(messages)))
        return super().count_tokens(messages)

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"engine": self.name, "model": self.model_id, **self.settings}
        if self.backend == "actors":
            d["inner_engine"] = self.inner_describe
        return d

    def close(self) -> None:
        for a in self.actors:
            with contextlib.suppress(Exception):  # already gone: nothing to release
                self.ray.kill(a)
        self.actors = []
        if self._own_cluster and self.ray.is_initialized():
            self.ray.shutdown()
        self._own_cluster = False

    # -- generation -----------------------------------------------------------------------

    def _generate(self, batch: Batch) -> None:
        if self.backend == "vllm":
            self._generate_data(batch)
        else:
            self._generate_actors(batch)

    def _generate_actors(self, batch: Batch) -> None:
        ray, requests, done = self.ray, batch.requests, batch.done
        queue: deque[int] = deque(range(len(requests)))
        requeued: dict[int, int] = {}
        idle = list(self.actors)
        in_flight: dict[Any, tuple[int, Any, float]] = {}  # ref -> (index, actor, start)
        while queue or in_flight:
            while queue and idle:
                i = queue.popleft()
                actor = idle.pop(0)
                in_flight[actor.run.remote(requests[i])] = (i, actor, time.perf_counter())
            if not in_flight:  # every actor is gone for good
                for i in queue:
                    done(
                        i,
                        GenerationResult(error="RayWorkerError: every Ray worker died; rerun with --resume"),
                    )
                return
            [ref], _ = ray.wait(list(in_flight), num_returns=1)
            i, actor, start = in_flight.pop(ref)
            try:
                res = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                # out of restarts: drop the actor; its request goes to the others, a bounded
                # number of times (a prompt that kills every worker must not loop forever)
                self.actors = [a for a in self.actors if a is not actor]
                requeued[i] = requeued.get(i, 0) + 1
                if requeued[i] <= self.max_task_retries:
                    queue.appendleft(i)
                else:
                    done(i, GenerationResult(error=f"RayWorkerError: {type(exc).__name__}: {exc}"[:2000]))
                continue
            except Exception as exc:  # a task error: this request fails, the run goes on
                res = GenerationResult(error=f"{type(exc).__name__}: {exc}"[:2000])
            res.elapsed_s = res.elapsed_s or (time.perf_counter() - start)
            idle.append(actor)
            done(i, res)

    def _generate_data(self, batch: Batch) -> None:
        requests = batch.requests
        require("vllm", "gpu", "the Ray engine's vllm backend")
        from ray.data.llm import build_processor, vLLMEngineProcessorConfig

        config = vLLMEngineProcessorConfig(**vllm_processor_kwargs(self.vllm_settings))
        processor = build_processor(config, preprocess=preprocess_row, postprocess=postprocess_row)
        ds = self.ray.data.from_items([request_row(i, r) for i, r in enumerate(requests)])
        start = time.perf_counter()
        # streaming execution: rows come back as their batch finishes, so the store gets them
        for row in processor(ds).iter_rows():
            index, res = result_from_row(row)
            res.elapsed_s = time.perf_counter() - start
            batch.done(index, res)
