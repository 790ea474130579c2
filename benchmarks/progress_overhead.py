"""Claim: following a generation token by token (a ``TokenProgress`` per token into the log
reporter) costs nothing measurable. Goal: plain / reported >= 0.98 (time ratio, higher is better).

Both sides run the SAME request (fixed seed, EOS ignored so every sample has exactly --max-tokens
tokens) on the same loaded embedded model through llama.cpp, alternating A/B within one run; the
KV cache is reset before every timed call so neither side gets a free prefill. The reported side
goes through ``run_requests`` with a ``LogReporter`` writing to a buffer (interval 0: a line per
token, the worst case), the plain side through ``run_requests`` without a reporter.

    .venv/bin/python benchmarks/progress_overhead.py [--reps 3] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import io
import time

from _common import median, write

from cycleresearcher.engines import ChatRequest, SamplingParams, load_engine
from cycleresearcher.engines.runner import run_requests
from cycleresearcher.progress import LogReporter

PROMPT = [{"role": "user", "content": "Write a short review of a paper on sparse attention."}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=128)
    args = ap.parse_args()
    engine = load_engine("llamacpp", model=None)
    sp = SamplingParams(max_tokens=args.max_tokens, seed=7, ignore_eos=True)
    request = ChatRequest(PROMPT, sp, request_id="bench")

    def timed(reporter: LogReporter | None) -> float:
        engine.llm.reset()
        t = time.perf_counter()
        [res] = run_requests(engine, None, "bench", [request], progress=reporter)
        assert res.ok and res.completion_tokens == args.max_tokens
        return time.perf_counter() - t

    plain: list[float] = []
    reported: list[float] = []
    lines = 0
    timed(None)  # warm-up
    for _ in range(args.reps):
        plain.append(timed(None))
        buf = io.StringIO()
        reported.append(timed(LogReporter(buf, interval=0.0, heartbeat=False)))
        lines = len(buf.getvalue().splitlines())
    engine.close()
    ratio = median(plain) / median(reported)
    data = {
        "max_tokens": args.max_tokens,
        "reps": args.reps,
        "plain_s": plain,
        "reported_s": reported,
        "log_lines_per_run": lines,
        "ratio_plain_over_reported": ratio,
        "tok_s_plain": args.max_tokens / median(plain),
    }
    out = [
        "# Progress reporting overhead (llama.cpp, embedded model)",
        "",
        f"{args.max_tokens} new tokens, {args.reps} alternating reps; reported side: {lines} log lines per run",
        "",
        "| side | median s | tok/s |",
        "|---|---|---|",
        f"| plain | {median(plain):.2f} | {args.max_tokens / median(plain):.1f} |",
        f"| reported (a line per token) | {median(reported):.2f} | {args.max_tokens / median(reported):.1f} |",
        "",
        f"plain / reported = {ratio:.3f} (goal >= 0.98)",
    ]
    write("progress_overhead", data, out)


if __name__ == "__main__":
    main()
