"""Grammar-constrained structure on the embedded model: complete-structure shares, repeated
4-gram rates with and without the repetition penalty, and decode tok/s with the grammar against
without it, measured side by side on the same prompts in one run.

    PYTHONPATH=src python benchmarks/structure.py --n 5 --deadline-min 25

Each seed runs every part before the next seed starts, and results are rewritten after each seed,
so a run cut by ``--deadline-min`` still reports the seeds it finished (``n`` says how many).
Free-text bounds are smaller than the embedded default (``--words``) to fit a loaded CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402


def repeated_4gram_rate(text: str) -> float:
    """Share of word 4-grams that already occurred earlier in the same text (0 = no repeats)."""
    words = text.split()
    grams = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
    return 0.0 if not grams else 1 - len(set(grams)) / len(grams)


def paper_complete(p) -> bool:  # type: ignore[no-untyped-def]
    import re

    return bool(
        p.title
        and p.abstract
        and p.motivation
        and p.idea
        and all(isinstance(getattr(p, k), int) for k in ("interestingness", "feasibility", "novelty"))
        and len(re.findall(r"\\section\{", p.main_latex)) >= 3
        and isinstance(p.experimental_setup, list)
        and p.experimental_results is not None
        and p.results_latex
    )


def review_complete(r, deep: bool) -> bool:  # type: ignore[no-untyped-def]
    if not r.reviewers or any(op.rating is None for op in r.reviewers):
        return False
    meta = r.final.get("rating") is not None and r.final_text.get("summary") if deep else r.meta_review
    return bool(meta) and r.decision in ("Accept", "Reject")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--words", type=int, default=20)
    ap.add_argument("--plain-tokens", type=int, default=400)
    ap.add_argument("--deadline-min", type=float, default=25.0)
    ap.add_argument("--reviewers", type=int, default=2)
    ap.add_argument("--alt-penalty", type=float, default=1.3)
    args = ap.parse_args()
    deadline = time.time() + args.deadline_min * 60

    from cycleresearcher.engines.base import ChatRequest, SamplingParams
    from cycleresearcher.engines.llamacpp import LlamaCppEngine
    from cycleresearcher.prompts.grammars import EMBEDDED_REPEAT_PENALTY, Bounds
    from cycleresearcher.research import CycleResearcher, ResearchSettings
    from cycleresearcher.review.cyclereviewer import CycleReviewer
    from cycleresearcher.review.deepreviewer import DeepReviewer

    engine = LlamaCppEngine(n_ctx=8192)
    bounds = Bounds(words=args.words, min_words=6, paragraphs=1, title_words=10, experiments=2,
                    reviewers=args.reviewers, word_chars=12)  # fmt: skip
    ref = Path(__file__).parent.parent / "examples" / "references.bib"
    researcher = CycleResearcher(engine=engine)
    rows: list[dict] = []

    def decode_rate() -> float:
        s = engine.stats
        return sum(x.completion_tokens for x in s) / max(1e-9, sum(x.decode_s for x in s))

    def report() -> None:
        n = len(rows)
        share = lambda key: sum(r[key] for r in rows) / n if n else 0.0  # noqa: E731
        mean = lambda key: sum(r[key] for r in rows) / n if n else 0.0  # noqa: E731
        ratio = mean("tok_s_grammar") / mean("tok_s_plain") if n else 0.0
        data = {
            "n": n,
            "bounds": bounds.__dict__,
            "repeat_penalty": EMBEDDED_REPEAT_PENALTY,
            "share_complete_paper": share("paper_ok"),
            "share_cyclereviewer_complete": share("cr_ok"),
            "share_deepreviewer_fast_complete": share("fast_ok"),
            "share_deepreviewer_standard_complete": share("std_ok"),
            "repeated_4gram_plain_no_penalty": mean("rep_plain_1"),
            "repeated_4gram_plain_alt_penalty": mean("rep_plain_pen"),
            "alt_penalty": args.alt_penalty,
            "repeated_4gram_grammar_penalty": mean("rep_grammar"),
            "tok_s_grammar": mean("tok_s_grammar"),
            "tok_s_plain": mean("tok_s_plain"),
            "speed_ratio_grammar_over_plain": ratio,
            "load_average_at_end": os.getloadavg(),
            "rows": rows,
        }
        lines = [
            "# Grammar-constrained structure, embedded SmolLM2-135M (llama.cpp, CPU)",
            "",
            f"N = {n} papers (seeds 0..{n - 1}), examples/references.bib, bounds {bounds.__dict__}.",
            f"Load average at the end: {os.getloadavg()[0]:.1f} (2 cores shared with other jobs).",
            "",
            "| measure | value |",
            "|---|---|",
            f"| papers with every part parsed (constrained) | {share('paper_ok'):.0%} |",
            f"| CycleReviewer reviews complete (constrained) | {share('cr_ok'):.0%} |",
            f"| DeepReviewer Fast complete (constrained) | {share('fast_ok'):.0%} |",
            f"| DeepReviewer Standard complete (constrained) | {share('std_ok'):.0%} |",
            f"| repeated 4-gram rate, unconstrained, repeat_penalty 1.0 | {mean('rep_plain_1'):.3f} |",
            f"| repeated 4-gram rate, unconstrained, repeat_penalty {args.alt_penalty} | {mean('rep_plain_pen'):.3f} |",
            f"| repeated 4-gram rate, constrained, repeat_penalty {EMBEDDED_REPEAT_PENALTY} | {mean('rep_grammar'):.3f} |",
            f"| decode tok/s with grammar / without (same prompt, same run) | {mean('tok_s_grammar'):.1f} / {mean('tok_s_plain'):.1f} = {ratio:.2f} |",
        ]
        write("structure", data, lines)

    for seed in range(args.n):
        if time.time() > deadline:
            break
        row: dict = {"seed": seed}
        settings = ResearchSettings(seed=seed, constrain=True, bounds=bounds)
        [prepared] = researcher.prepare([ref], settings)
        engine.stats = []
        [paper] = researcher.generate([prepared], settings)
        row["tok_s_grammar"] = decode_rate()
        row["paper_ok"] = paper_complete(paper)
        row["paper_warnings"] = paper.warnings
        row["rep_grammar"] = repeated_4gram_rate(paper.generated_text)
        for key, penalty in (("rep_plain_1", 1.0), ("rep_plain_pen", args.alt_penalty)):
            sp = SamplingParams(
                max_tokens=args.plain_tokens, seed=seed, repeat_penalty=penalty, ignore_eos=True
            )
            engine.stats = []
            [res] = engine.generate([ChatRequest(prepared.messages, sp)])
            row[key] = repeated_4gram_rate(res.text)
            if penalty == EMBEDDED_REPEAT_PENALTY:  # the default the grammar run used
                row["tok_s_plain"] = decode_rate()
        text = paper.latex or paper.generated_text
        kw = {"engine": engine, "constrain": True, "grammar_bounds": bounds, "max_tokens": 1500}
        cr = CycleReviewer(model="embedded", **kw)
        cr.sampling.seed = seed
        [r] = cr.review([text])
        row["cr_ok"], row["cr_warnings"] = review_complete(r, False), r.warnings
        dr = DeepReviewer(model="embedded", **kw)
        dr.sampling.seed = seed
        [f] = dr.review([text], mode="fast")
        row["fast_ok"], row["fast_warnings"] = review_complete_fast(f), f.warnings
        [s] = dr.review([text], mode="standard", reviewer_num=args.reviewers)
        row["std_ok"], row["std_warnings"] = review_complete(s, True), s.warnings
        rows.append(row)
        report()
    engine.close()


def review_complete_fast(r) -> bool:  # type: ignore[no-untyped-def]
    """Fast mode has no simulated reviewers: the final rating, summary and decision."""
    return r.final.get("rating") is not None and bool(r.final_text.get("summary")) and r.decision is not None


if __name__ == "__main__":
    main()
