"""Claim: the generation pipeline (prompt building, context check, run store, parsing, records)
adds almost nothing to the engine's own time. Goal: direct / pipeline >= 0.98.

Both sides run the SAME requests (2 reference sets, n=1, fixed seed, EOS ignored so every sample
has exactly --max-tokens tokens) on the same loaded embedded model through llama.cpp, alternating
A/B within one run; the KV cache is reset before every timed call so neither side gets a free
prefill. Exports (Markdown, LaTeX, PDF) are the CLI's business and are not part of the pipeline here.

    .venv/bin/python benchmarks/generation_overhead.py [--reps 3] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import median, write

from cycleresearcher.engines import load_engine
from cycleresearcher.research import CycleResearcher, ResearchSettings

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "references.bib"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()
    engine = load_engine("llamacpp", model=None)
    tmp = Path(tempfile.mkdtemp())
    # two reference sets: the example file and its first half
    text = EXAMPLE.read_text()
    entries = text.split("\n@")
    second = tmp / "half.bib"
    second.write_text("\n@".join(entries[: max(2, len(entries) // 2)]))
    sets = [EXAMPLE, second]
    settings = ResearchSettings(n=1, max_tokens=args.max_tokens, seed=7)

    prepared = CycleResearcher(engine=engine).prepare(sets, settings)
    researcher = CycleResearcher(engine=engine)
    requests = [
        __import__("cycleresearcher.engines.base", fromlist=["ChatRequest"]).ChatRequest(
            messages=ps.messages, sampling=researcher._sampling(settings), request_id=ps.set_id
        )
        for ps in prepared
    ]

    def direct() -> float:
        engine.llm.reset()
        t = time.perf_counter()
        results = engine.generate(requests)
        assert all(r.ok for r in results)
        return time.perf_counter() - t

    def pipeline(i: int) -> float:
        engine.llm.reset()
        t = time.perf_counter()
        papers = CycleResearcher(engine=engine, run_dir=tmp / f"run{i}").generate(sets, settings)
        assert len(papers) == 2
        return time.perf_counter() - t

    direct()  # warm-up (page cache, allocator)
    d, p = [], []
    for i in range(args.reps):
        d.append(direct())
        p.append(pipeline(i))
    ratio = median(d) / median(p)
    lines = [
        "# Generation pipeline overhead (embedded SmolLM2-135M, llama.cpp)",
        "",
        f"2 reference sets, n=1, {args.max_tokens} new tokens each, {args.reps} alternating repetitions.",
        "",
        "| side | median s | runs (s) |",
        "|---|---|---|",
        f"| engine.generate directly | {median(d):.2f} | {', '.join(f'{x:.2f}' for x in d)} |",
        f"| CycleResearcher.generate (prepare + store + parse) | {median(p):.2f} | {', '.join(f'{x:.2f}' for x in p)} |",
        "",
        f"**ratio direct / pipeline = {ratio:.3f}** (goal >= 0.98)",
    ]
    write(
        "generation_overhead",
        {"direct_s": d, "pipeline_s": p, "ratio": ratio, "max_tokens": args.max_tokens},
        lines,
    )


if __name__ == "__main__":
    main()
