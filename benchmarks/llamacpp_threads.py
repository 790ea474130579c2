"""Claim: on small machines the llama.cpp engine decodes faster with every available core than with
llama.cpp's own default of half the cores (which assumes hyper-threads). Embedded SmolLM2-135M,
same prompt and seed, 200 new tokens with EOS ignored, measured side by side in one run.

    .venv/bin/python benchmarks/llamacpp_threads.py [--reps 3]
"""

from __future__ import annotations

import argparse
import os

from _common import median, write

from cycleresearcher.engines.base import ChatRequest, SamplingParams
from cycleresearcher.engines.llamacpp import LlamaCppEngine, _available_cores

PROMPT = [{"role": "user", "content": "Write a long essay about attention mechanisms in transformers."}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=200)
    args = ap.parse_args()
    cores = _available_cores()
    settings = {
        "llama.cpp default (half the cores)": max(1, (os.cpu_count() or 2) // 2),
        "ours (all available cores)": cores,
    }
    engines = {name: LlamaCppEngine(n_threads=n, n_ctx=2048) for name, n in settings.items()}
    req = ChatRequest(
        messages=PROMPT, sampling=SamplingParams(max_tokens=args.tokens, ignore_eos=True, seed=1)
    )
    speeds: dict[str, list[float]] = {name: [] for name in engines}
    for eng in engines.values():
        eng.generate([req])  # warm-up
    for _ in range(args.reps):
        for name, eng in engines.items():
            eng.generate([req])
            s = eng.stats[0]
            speeds[name].append(s.completion_tokens / s.decode_s)
    names = list(engines)
    ratio = median(speeds[names[1]]) / median(speeds[names[0]])
    lines = [
        "# llama.cpp decode threads (embedded SmolLM2-135M)",
        "",
        f"{args.tokens} new tokens, {args.reps} alternating repetitions, {cores} cores available.",
        "",
        "| setting | threads | median decode tok/s | runs |",
        "|---|---|---|---|",
        *[
            f"| {n} | {settings[n]} | {median(speeds[n]):.1f} | {', '.join(f'{x:.1f}' for x in speeds[n])} |"
            for n in names
        ],
        "",
        f"**speed-up = {ratio:.2f}x**",
    ]
    write("llamacpp_threads", {"threads": settings, "tok_s": speeds, "ratio": ratio}, lines)


if __name__ == "__main__":
    main()
