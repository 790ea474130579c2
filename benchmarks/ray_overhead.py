"""--engine ray against the direct engine on the same requests: the embedded model through llama.cpp,
one thread per engine, so that 1 Ray worker compares with the in-process engine like for like.

Throughput = completion tokens / wall second of ``generate`` (model load and cluster start are
reported apart: they are paid once per run). Ray with 2 workers shows what a second process gives
on this machine; on 2 cores it cannot show how Ray scales on a cluster.

    PYTHONPATH=src python benchmarks/ray_overhead.py [--requests 8] [--max-tokens 48] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# Ray sets OMP_NUM_THREADS to an actor's num_cpus (1) in its workers; the direct engine gets the
# same, else its OpenMP threads spin on the busy cores and the comparison measures that instead
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, median, write  # noqa: E402

from cycleresearcher.engines import ChatRequest, SamplingParams, load_engine  # noqa: E402
from cycleresearcher.models import embedded_model_path  # noqa: E402

INNER = {"n_ctx": 1024, "n_threads": 1}


def requests(count: int, max_tokens: int) -> list[ChatRequest]:
    return [
        ChatRequest(
            [
                {
                    "role": "user",
                    "content": f"Write two sentences about method {i} for training language models.",
                }
            ],
            # ignore_eos: every request generates exactly max_tokens, so runs are comparable
            SamplingParams(max_tokens=max_tokens, seed=i, ignore_eos=True),
        )
        for i in range(count)
    ]


def timed(engine, reqs: list[ChatRequest], repeats: int) -> dict:  # type: ignore[no-untyped-def]
    walls, tokens = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        out = engine.generate(reqs)
        walls.append(time.perf_counter() - start)
        assert all(r.ok for r in out), [r.error for r in out]
        tokens = sum(r.completion_tokens for r in out)
    wall = median(walls)
    return {
        "wall_s": round(wall, 3),
        "walls_s": [round(w, 3) for w in walls],
        "tokens": tokens,
        "tokens_per_s": round(tokens / wall, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    gguf = str(embedded_model_path())
    reqs = requests(args.requests, args.max_tokens)
    load1 = os.getloadavg()[0]
    rows: dict[str, dict] = {}

    start = time.perf_counter()
    direct = load_engine("llamacpp", model=gguf, **INNER)
    setup = time.perf_counter() - start
    direct.generate(reqs[:1])  # warm-up, as the Ray workers get below
    rows["direct"] = {**timed(direct, reqs, args.repeats), "setup_s": round(setup, 2)}
    direct.close()

    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}},
    )
    try:
        for workers in (1, 2):
            start = time.perf_counter()
            eng = load_engine("ray", model=gguf, workers=workers, inner_opts=INNER)
            setup = time.perf_counter() - start
            eng.generate(reqs[:workers])
            rows[f"ray_{workers}w"] = {**timed(eng, reqs, args.repeats), "setup_s": round(setup, 2)}
            eng.close()
    finally:
        ray.shutdown()
    load2 = os.getloadavg()[0]
    base = rows["direct"]["tokens_per_s"]
    for r in rows.values():
        r["vs_direct"] = round(r["tokens_per_s"] / base, 3)
    data = {
        "requests": args.requests,
        "max_tokens": args.max_tokens,
        "repeats": args.repeats,
        "inner": INNER,
        "omp_num_threads": os.environ["OMP_NUM_THREADS"],
        "machine": machine(),
        "load_average_1min": [round(load1, 2), round(load2, 2)],
        "rows": rows,
    }
    lines = [
        "# --engine ray vs the direct llama.cpp engine (embedded SmolLM2-135M, 1 thread per engine)",
        "",
        f"{args.requests} requests x {args.max_tokens} tokens (ignore_eos), median of {args.repeats}; "
        f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} in both; {machine()['cpu']}, {os.cpu_count()} CPUs (1-min load average {load1:.1f} before, {load2:.1f} after).",
        "",
        "| run | tokens/s | vs direct | wall s | setup s (load + cluster) |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['tokens_per_s']} | {r['vs_direct']} | {r['wall_s']} | {r['setup_s']} |")
    lines += [
        "",
        "Setup (actor start, model load in the worker) is paid once per run and is not in tokens/s. "
        "ray_1w against direct is the overhead of the Ray path (goal at least 0.9). 2 workers on 2 "
        "cores are bound by those 2 cores (and by any other load on them); on a cluster each worker "
        "has its own cores or GPU, so this row says little about scaling there.",
    ]
    write("ray_overhead", data, lines)


if __name__ == "__main__":
    main()
