"""Claims: (1) the portable llama.cpp build (AVX2 baseline, what scripts/bootstrap.sh installs)
decodes about as fast as a -march=native build on the same CPU; (2) with OMP_WAIT_POLICY=PASSIVE
(our default) decoding holds up when other processes keep every core busy, where llama.cpp's
spinning OpenMP threads (libgomp's default) collapse. Embedded SmolLM2-135M, same prompt and seed,
EOS ignored; each measurement in a fresh subprocess (libgomp reads its policy once, at load).

    # build a native wheel once, unpack it, then:
    .venv/bin/python benchmarks/llamacpp_builds.py --native-lib /path/to/native/llama_cpp/lib

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

from _common import median, write

PROMPT = [{"role": "user", "content": "Write a long essay about attention mechanisms in transformers."}]


def child(tokens: int, omp: str) -> None:
    if omp == "unset":
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
    if out.returncode != 0:
        raise SystemExit(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["decode_tok_s"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--omp", default="PASSIVE")
    ap.add_argument("--tokens", type=int, default=128, help="new tokens per idle measurement")
    ap.add_argument("--contended-tokens", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3, help="idle repetitions (median); contended runs once")
    ap.add_argument("--timeout", type=float, default=400, help="seconds before a contended run is cut off")
    ap.add_argument("--native-lib", help="lib/ folder of a -march=native llama-cpp-python build")
    args = ap.parse_args()
    if args.child:
        child(args.tokens, args.omp)
        return

    from cycleresearcher.engines.llamacpp_build import library_dir, scan_build

    builds: dict[str, str | None] = {"portable": None}
    scans = {"portable": scan_build(library_dir()).summary()}
    if args.native_lib:
        builds["native"] = args.native_lib
        scans["native"] = scan_build(Path(args.native_lib)).summary()
    idle: dict[tuple[str, str], list[float]] = {(b, o): [] for b in builds for o in ("PASSIVE", "unset")}
    for _ in range(args.reps):  # rotate so that drift in machine load hits every setting alike
        for key in idle:
            idle[key].append(measure(builds[key[0]], key[1], args.tokens, False, args.timeout) or 0.0)
    contended: dict[tuple[str, str], float | None] = {}
    for b in builds:
        for o in ("PASSIVE", "unset"):
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
    for b in builds:
        for o in ("PASSIVE", "unset"):
            label = "PASSIVE (our default)" if o == "PASSIVE" else "unset (libgomp default: spin)"
            lines.append(f"| {b} | {label} | {median(idle[(b, o)]):.1f} | {fmt(contended[(b, o)])} |")
    ratios: dict[str, float | None] = {}
    if "native" in builds:
        ratios["portable/native idle (PASSIVE)"] = median(idle[("portable", "PASSIVE")]) / median(
            idle[("native", "PASSIVE")]
        )
    ratios["PASSIVE/unset idle (portable)"] = median(idle[("portable", "PASSIVE")]) / median(
        idle[("portable", "unset")]
    )
    c_pass, c_unset = contended[("portable", "PASSIVE")], contended[("portable", "unset")]
    ratios["PASSIVE/unset contended (portable)"] = c_pass / c_unset if c_pass and c_unset else None
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
            "tokens": args.tokens,
            "contended_tokens": args.contended_tokens,
        },
        lines,
    )


if __name__ == "__main__":
    main()
