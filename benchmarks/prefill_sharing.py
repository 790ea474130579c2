"""Claim: sampling n papers per reference set as ONE request (the prompt prefill is evaluated once
and shared by the n samples) is much faster than a loop that re-sends the prompt for every sample.
Goal: >= 2x for n=4 samples of 2 reference sets on the embedded model through llama.cpp.

Both sides: same prompts, same sampling (seeded, EOS ignored, --max-tokens new tokens per sample),
same loaded model, alternating within one run. The loop side resets the KV cache before each
request, which is what re-sending a prompt to an engine without prefix reuse costs.

    .venv/bin/python benchmarks/prefill_sharing.py [--reps 2] [--max-tokens 32]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from _common import median, write

from cycleresearcher.engines import load_engine
from cycleresearcher.engines.base import ChatRequest
from cycleresearcher.research import CycleResearcher, ResearchSettings

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "references.bib"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--n", type=int, default=4)
    args = ap.parse_args()
    engine = load_engine("llamacpp", model=None)
    settings = ResearchSettings(n=args.n, max_tokens=args.max_tokens, seed=11)
    researcher = CycleResearcher(engine=engine)
    prepared = researcher.prepare([EXAMPLE, EXAMPLE], replace(settings))
    # the second set: same references with a topic line, so the two prompts differ
    prepared[1] = researcher.prepare([EXAMPLE], replace(settings, topic="preference optimisation"))[0]
    sampling = researcher._sampling(settings)
    shared = [ChatRequest(messages=ps.messages, sampling=sampling) for ps in prepared]
    single = replace(sampling, n=1)
    loop = [
        ChatRequest(messages=ps.messages, sampling=replace(single, seed=sampling.seed + k))
        for ps in prepared
        for k in range(args.n)
    ]
    prompt_tokens = [engine.count_tokens(ps.messages) for ps in prepared]

    def run_shared() -> float:
        engine.llm.reset()
        t = time.perf_counter()
        out = engine.generate(shared)
        assert all(len(r.completions) == args.n for r in out)
        return time.perf_counter() - t

    def run_loop() -> float:
        t = time.perf_counter()
        for req in loop:
            engine.llm.reset()  # re-sent prompt: no prefix reuse
            [r] = engine.generate([req])
            assert r.ok
        return time.perf_counter() - t

    run_shared()  # warm-up
    s, lp = [], []
    for _ in range(args.reps):
        lp.append(run_loop())
        s.append(run_shared())
    ratio = median(lp) / median(s)
    lines = [
        "# Prefill sharing across n samples (embedded SmolLM2-135M, llama.cpp)",
        "",
        f"2 reference sets (prompts of {prompt_tokens} tokens), n={args.n}, {args.max_tokens} new tokens per sample, "
        f"{args.reps} alternating repetitions.",
        "",
        "| side | median s | runs (s) |",
        "|---|---|---|",
        f"| loop re-sending each prompt ({2 * args.n} requests, n=1) | {median(lp):.2f} | {', '.join(f'{x:.2f}' for x in lp)} |",
        f"| one request per set with n={args.n} (prefill shared) | {median(s):.2f} | {', '.join(f'{x:.2f}' for x in s)} |",
        "",
        f"**speed-up = {ratio:.2f}x** (goal >= 2x)",
    ]
    write(
        "prefill_sharing",
        {
            "loop_s": lp,
            "shared_s": s,
            "ratio": ratio,
            "prompt_tokens": prompt_tokens,
            "n": args.n,
            "max_tokens": args.max_tokens,
        },
        lines,
    )


if __name__ == "__main__":
    main()
