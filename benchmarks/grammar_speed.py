"""Decode speed of grammar-constrained sampling on the embedded model against no grammar, side by
side on the same prompts and seeds in one run, decoding the same number of tokens: the
unconstrained run writes as many tokens as the grammar run did (EOS ignored). benchmarks/
structure.py measures the same ratio against a fixed 400 unconstrained tokens; this one removes the
length difference.

    PYTHONPATH=src python benchmarks/grammar_speed.py [--seeds 10]

Also reports how often the grammar rejected the first draw (then llama.cpp's grammar sampler
resamples over the whole grammar-masked vocabulary) and whether every paper parses completely.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write  # noqa: E402
from structure import paper_complete  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()

    from cycleresearcher.engines import _grammar_sampler as gs
    from cycleresearcher.engines.base import ChatRequest
    from cycleresearcher.engines.llamacpp import LlamaCppEngine
    from cycleresearcher.paper import parse_paper
    from cycleresearcher.research import CycleResearcher, ResearchSettings

    engine = LlamaCppEngine(n_ctx=8192)
    researcher = CycleResearcher(engine=engine)
    ref = Path(__file__).parent.parent / "examples" / "references.bib"
    made: list = []  # every grammar sampler of the run, to read its counts after its request
    original_init = gs.GrammarFirstSampler.__init__

    def init(self, *a, **kw):  # type: ignore[no-untyped-def]
        original_init(self, *a, **kw)
        made.append(self)

    gs.GrammarFirstSampler.__init__ = init  # type: ignore[method-assign]

    def rate() -> float:
        s = engine.stats[-1]
        return s.completion_tokens / max(1e-9, s.decode_s)

    rows = []
    for seed in range(args.seeds):
        settings = ResearchSettings(seed=seed, constrain=True)
        [prepared] = researcher.prepare([ref], settings)
        sp = researcher._sampling(settings)
        [res] = engine.generate([ChatRequest(prepared.messages, sp)])
        paper = parse_paper(res.text)
        row: dict = {
            "seed": seed,
            "tok_s_grammar": rate(),
            "tokens": res.completions[0].completion_tokens,
            "rejected": made[-1].rejected / max(1, made[-1].steps),
            "paper_complete": paper_complete(paper) and not paper.warnings,
        }
        plain = researcher._sampling(settings)
        plain.grammar, plain.ignore_eos, plain.max_tokens = None, True, row["tokens"]
        engine.generate([ChatRequest(prepared.messages, plain)])
        row["tok_s_plain"] = rate()
        rows.append(row)
        print(row, flush=True)
    engine.close()

    mean = lambda k: sum(r[k] for r in rows) / len(rows)  # noqa: E731
    grammar, plain_rate = mean("tok_s_grammar"), mean("tok_s_plain")
    per_seed = sorted(r["tok_s_grammar"] / r["tok_s_plain"] for r in rows)
    data = {
        "seeds": args.seeds,
        "tok_s_grammar": grammar,
        "tok_s_plain": plain_rate,
        "ratio_grammar_over_plain": grammar / plain_rate,
        "ratio_per_seed_min_max": [per_seed[0], per_seed[-1]],
        "papers_complete": sum(r["paper_complete"] for r in rows),
        "load_average_at_end": os.getloadavg(),
        "rows": rows,
    }
    lines = [
        "# Grammar-constrained decode speed, embedded SmolLM2-135M (llama.cpp, CPU)",
        "",
        f"{args.seeds} one-shot papers (seeds 0..{args.seeds - 1}), examples/references.bib, embedded bounds and",
        "sampling; the plain run decodes as many tokens as the grammar run, EOS ignored.",
        f"{machine()['cpu']}, {os.cpu_count()} cores; load average at the end: {os.getloadavg()[0]:.1f}.",
        "",
        "| sampler | decode tok/s | / no grammar | first draws the grammar rejected |",
        "|---|---|---|---|",
        f"| grammar (paper structure) | {grammar:.1f} | {grammar / plain_rate:.2f} "
        f"(per seed {per_seed[0]:.2f}-{per_seed[-1]:.2f}) | {mean('rejected'):.1%} |",
        f"| no grammar | {plain_rate:.1f} | 1.00 | - |",
        "",
        f"Papers with every part parsed and no warning: {data['papers_complete']}/{args.seeds}.",
    ]
    write("grammar_speed", data, lines)


if __name__ == "__main__":
    main()
