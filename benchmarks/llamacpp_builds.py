"""Claims: (1) the portable llama.cpp build (AVX2 baseline, what scripts/bootstrap.sh installs)
decodes about as fast as builds that use more of this CPU (AVX-512; -march=native, which may not run
at all); (2) our OpenMP default (a short spin, GOMP_SPINCOUNT=1000) keeps the idle speed of
libgomp's long spin and holds up when other processes keep every core busy, where OMP_WAIT_POLICY=
PASSIVE costs idle speed. Embedded SmolLM2-135M, same prompt and seed, EOS ignored; each
measurement in a fresh subprocess (libgomp reads its settings once, at load).

    # build other wheels once (CMAKE_ARGS=... pip wheel --no-cache-dir llama-cpp-python==0.3.36),
    # unzip each, then name their lib/ folders:
    .venv/bin/python benchmarks/llamacpp_builds.py --lib native=/tmp/n/llama_cpp/lib --lib avx512=/tmp/a/llama_cpp/lib

A build that crashes on this CPU is reported with its signal.

"contended": one busy-looping process per core runs for the whole measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import cpu_model, median, write

PROMPT = [{"role": "user", "content": "Write a long essay about attention mechanisms in transformers."}]


def child(tokens: int, omp: str) -> None:
    os.environ.pop("GOMP_SPINCOUNT", None)
    if omp.startswith("spin"):
        os.environ.pop("OMP_WAIT_POLICY", None)
        os.environ["GOMP_SPINCOUNT"] = omp[4:]
    elif omp == "unset":
        os.environ.pop("OMP_WAIT_POLICY", None)
        import llama_cpp  # noqa: F401  load libgomp before our engine sets its default
    else:
        os.environ["OMP_WAIT_POLICY"] = omp
    from cycleresearcher.engines.base import ChatRequest, SamplingParams
    from cycleresearcher.engines.llamacpp import LlamaCppEngine

    eng = LlamaCppEngine(n_ctx=1024)
    req = ChatRequest(messages=PROMPT, sampling=SamplingParams(max_tokens=tokens, ignore_eos=True, seed=1))
    eng.generate([req])  # warm-up: prefill + first decode
    eng.generate([req])
    st = eng.stats[0]
    print(
        json.dumps({"decode_tok_s": (st.completion_tokens - 1) / st.decode_s, "tokens": st.completion_tokens})
    )


class Crashed(Exception):
    pass


def measure(lib: str | None, omp: str, tokens: int, contended: bool, timeout: float) -> float | None:
    env = dict(os.environ)
    env.pop("LLAMA_CPP_LIB_PATH", None)
    if lib:
        env["LLAMA_CPP_LIB_PATH"] = lib
    busy = []
    if contended:
        busy = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)
        ]
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--tokens", str(tokens), "--omp", omp],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    finally:
        for p in busy:
            p.kill()
            p.wait()
    if out.returncode < 0:
        import signal

        raise Crashed(signal.Signals(-out.returncode).name)
    if out.returncode != 0:
        raise SystemExit(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["decode_tok_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--omp", default="spin1000", help="spinN (GOMP_SPINCOUNT=N), PASSIVE or unset")
    ap.add_argument("--tokens", type=int, default=128, help="new tokens per idle measurement")
    ap.add_argument("--contended-tokens", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3, help="idle repetitions (median); contended runs once")
    ap.add_argument("--timeout", type=float, default=400, help="seconds before a contended run is cut off")
    ap.add_argument("--lib", action="append", default=[], help="NAME=DIR: lib/ folder of another build")
    args = ap.parse_args()
    if args.child:
        child(args.tokens, args.omp)
        return

    from cycleresearcher.engines.llamacpp_build import SPIN_COUNT, library_dir, scan_build

    ours = f"spin{SPIN_COUNT}"

    builds: dict[str, str | None] = {"portable": None}
    scans = {"portable": scan_build(library_dir()).summary()}
    for item in args.lib:
        name, _, folder = item.partition("=")
        builds[name] = folder
        scans[name] = scan_build(Path(folder)).summary()
    policies = tuple(dict.fromkeys((ours, "spin1000", "spin10000", "PASSIVE", "unset")))
    crashed: dict[str, str] = {}
    for name, lib in list(builds.items()):
        try:
            measure(lib, ours, 4, False, args.timeout)
        except Crashed as exc:
            crashed[name] = exc.args[0]
            del builds[name]
    idle: dict[tuple[str, str], list[float]] = {(b, o): [] for b in builds for o in policies}
    for _ in range(args.reps):  # rotate so that drift in machine load hits every setting alike
        for key in idle:
            idle[key].append(measure(builds[key[0]], key[1], args.tokens, False, args.timeout) or 0.0)
    contended: dict[tuple[str, str], float | None] = {}
    for b in builds:
        for o in policies:
            t0 = time.perf_counter()
            contended[(b, o)] = measure(builds[b], o, args.contended_tokens, True, args.timeout)
            print(
                f"contended {b} {o}: {contended[(b, o)]} tok/s ({time.perf_counter() - t0:.0f} s)", flush=True
            )

    def fmt(x: float | None) -> str:
        return "timed out" if x is None else f"{x:.1f}"

    lines = [
        "# llama.cpp builds and OpenMP wait policy: decode tok/s",
        "",
        f"CPU: {cpu_model()}, {os.cpu_count()} cores. Embedded SmolLM2-135M (Q4_1), "
        f"{args.tokens} new tokens idle (median of {args.reps}), {args.contended_tokens} contended "
        f"(one busy process per core), EOS ignored.",
        "",
        "| build | OMP_WAIT_POLICY | idle tok/s | contended tok/s |",
        "|---|---|---:|---:|",
    ]

    def label(o: str) -> str:
        text = {"PASSIVE": "PASSIVE (sleep at once)", "unset": "unset (libgomp default: long spin)"}.get(
            o, f"unset, GOMP_SPINCOUNT={o[4:]}"
        )
        return text + (" (our default)" if o == ours else "")

    for b in builds:
        for o in policies:
            lines.append(f"| {b} | {label(o)} | {median(idle[(b, o)]):.1f} | {fmt(contended[(b, o)])} |")
    for b, sig in crashed.items():
        lines.append(f"| {b} | any | crashed ({sig}) | crashed ({sig}) |")

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a and b else None

    ratios: dict[str, float | None] = {}
    for b in builds:
        if b != "portable":
            ratios[f"portable/{b} idle (our default)"] = ratio(
                median(idle[("portable", ours)]), median(idle[(b, ours)])
            )
    for o in policies:
        if o == ours:
            continue
        ratios[f"our default/{o} idle (portable)"] = ratio(
            median(idle[("portable", ours)]), median(idle[("portable", o)])
        )
        ratios[f"our default/{o} contended (portable)"] = ratio(
            contended[("portable", ours)], contended[("portable", o)]
        )
    lines += ["", *[f"- {k}: **{v:.2f}x**" if v else f"- {k}: n/a" for k, v in ratios.items()]]
    lines += ["", *[f"- {b} build: {s}" for b, s in scans.items()]]
    write(
        "llamacpp_builds",
        {
            "cpu": cpu_model(),
            "idle": {f"{b}/{o}": v for (b, o), v in idle.items()},
            "contended": {f"{b}/{o}": v for (b, o), v in contended.items()},
            "ratios": ratios,
            "builds": scans,
            "crashed": crashed,
            "tokens": args.tokens,
            "contended_tokens": args.contended_tokens,
        },
        lines,
    )


if __name__ == "__main__":
    main()
