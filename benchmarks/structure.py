"""Grammar-constrained structure on the embedded model: complete-structure shares, repeated
4-gram rates with and without the repetition penalty, and decode tok/s with the grammar against
without it, measured side by side on the same prompts in one run.

    PYTHONPATH=src python benchmarks/structure.py --n 20 --deadline-min 60

Each seed runs every part before the next seed starts, and results are rewritten after each seed,
so a run cut by ``--deadline-min`` still reports the seeds it finished (``n`` says how many), and
``--resume`` runs the seeds after those.
The bounds are the embedded default (``EMBEDDED_BOUNDS``, as the README's first command uses);
``--words`` / ``--reviewers`` shrink them to fit a loaded CPU. Repetition by sampling setting is
measured apart, in benchmarks/repetition.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write  # noqa: E402
from repetition import free_text, repeated_4gram_rate  # noqa: E402


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
    ap.add_argument(
        "--words", type=int, default=None, help="free-text words per paragraph (default: embedded)"
    )
    ap.add_argument("--plain-tokens", type=int, default=400)
    ap.add_argument("--deadline-min", type=float, default=60.0)
    ap.add_argument("--reviewers", type=int, default=None, help="reviewers per review (default: embedded)")
    ap.add_argument(
        "--resume",
        action="store_true",
        help="keep the seeds of results/structure.json (same bounds and sampling) and run the next ones",
    )
    args = ap.parse_args()
    deadline = time.time() + args.deadline_min * 60

    from dataclasses import replace

    from cycleresearcher.engines.base import ChatRequest, SamplingParams
    from cycleresearcher.engines.llamacpp import LlamaCppEngine
    from cycleresearcher.prompts.grammars import (
        EMBEDDED_BOUNDS,
        EMBEDDED_REPEAT_PENALTY,
        EMBEDDED_REPEAT_WINDOW,
        EMBEDDED_TOKENS_PER_WORD,
    )
    from cycleresearcher.research import CycleResearcher, ResearchSettings
    from cycleresearcher.review.cyclereviewer import CycleReviewer
    from cycleresearcher.review.deepreviewer import DeepReviewer
    from cycleresearcher.review.embedded import EMBEDDED_REVIEW_MAX_TOKENS

    engine = LlamaCppEngine(n_ctx=8192)
    bounds = EMBEDDED_BOUNDS
    if args.words is not None:
        bounds = replace(bounds, words=args.words, min_words=min(bounds.min_words, args.words))
    if args.reviewers is not None:
        bounds = replace(bounds, reviewers=args.reviewers)
    ref = Path(__file__).parent.parent / "examples" / "references.bib"
    researcher = CycleResearcher(engine=engine)
    rows: list[dict] = []
    if args.resume:
        import json

        old = json.loads((Path(__file__).parent / "results" / "structure.json").read_text())
        same = (old["bounds"], old.get("repeat_penalty"), old.get("repeat_last_n")) == (
            bounds.__dict__,
            EMBEDDED_REPEAT_PENALTY,
            EMBEDDED_REPEAT_WINDOW,
        )
        if not same:
            sys.exit("--resume: results/structure.json has other bounds or sampling; run without --resume")
        rows = old["rows"]

    def decode_rate() -> float:
        s = engine.stats
        return sum(x.completion_tokens for x in s) / max(1e-9, sum(x.decode_s for x in s))

    def report() -> None:
        n = len(rows)
        share = lambda key: sum(r[key] for r in rows) / n if n else 0.0  # noqa: E731
        mean = lambda key: sum(r[key] for r in rows) / n if n else 0.0  # noqa: E731
        ratio = mean("tok_s_grammar") / mean("tok_s_plain") if n else 0.0
        tpw_keys = ("tpw_paper", "tpw_cr", "tpw_fast", "tpw_std")
        max_tpw = max((r[k] for r in rows for k in tpw_keys if k in r), default=0.0)
        data = {
            "n": n,
            "bounds": bounds.__dict__,
            "repeat_penalty": EMBEDDED_REPEAT_PENALTY,
            "repeat_last_n": EMBEDDED_REPEAT_WINDOW,
            "machine": machine(),
            "share_complete_paper": share("paper_ok"),
            "share_cyclereviewer_complete": share("cr_ok"),
            "share_deepreviewer_fast_complete": share("fast_ok"),
            "share_deepreviewer_standard_complete": share("std_ok"),
            "repeated_4gram_plain": mean("rep_plain"),
            "repeated_4gram_grammar_free_text": mean("rep_grammar"),
            "tok_s_grammar": mean("tok_s_grammar"),
            "tok_s_plain": mean("tok_s_plain"),
            "speed_ratio_grammar_over_plain": ratio,
            "max_tokens_per_word": max_tpw,
            "std_max_new_tokens": max((r.get("std_tokens", 0) for r in rows), default=0),
            "load_average_at_end": os.getloadavg(),
            "rows": rows,
        }
        lines = [
            "# Grammar-constrained structure, embedded SmolLM2-135M (llama.cpp, CPU)",
            "",
            f"N = {n} papers (seeds 0..{n - 1}), examples/references.bib, bounds {bounds.__dict__}.",
            f"{machine()['cpu']}, {os.cpu_count()} cores; load average at the end: {os.getloadavg()[0]:.1f}.",
            f"Sampling: the embedded default, repeat penalty {EMBEDDED_REPEAT_PENALTY} over the last "
            f"{EMBEDDED_REPEAT_WINDOW} tokens, in both the grammar and the plain run.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| papers with every part parsed (constrained) | {share('paper_ok'):.0%} |",
            f"| CycleReviewer reviews complete (constrained) | {share('cr_ok'):.0%} |",
            f"| DeepReviewer Fast complete (constrained) | {share('fast_ok'):.0%} |",
            f"| DeepReviewer Standard complete (constrained) | {share('std_ok'):.0%} |",
            f"| repeated 4-gram rate, unconstrained ({args.plain_tokens} tokens) | {mean('rep_plain'):.3f} |",
            f"| repeated 4-gram rate, constrained papers' free text | {mean('rep_grammar'):.3f} |",
            f"| decode tok/s with grammar / without (same prompt, same run) | {mean('tok_s_grammar'):.1f} / {mean('tok_s_plain'):.1f} = {ratio:.2f} |",
            f"| largest new tokens per word of a whole constrained output, fixed text included (the fitting assumes {EMBEDDED_TOKENS_PER_WORD} per free word) | {max_tpw:.2f} |",
            f"| DeepReviewer Standard: most new tokens of a review (budget {EMBEDDED_REVIEW_MAX_TOKENS}) | {data['std_max_new_tokens']} |",
        ]
        write("structure", data, lines)

    for seed in range(len(rows), args.n):
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
        row["rep_grammar"] = repeated_4gram_rate(free_text(paper))
        row["tpw_paper"] = tokens_per_word(engine, paper.generated_text)
        sp = SamplingParams(
            max_tokens=args.plain_tokens,
            seed=seed,
            repeat_penalty=EMBEDDED_REPEAT_PENALTY,
            repeat_last_n=EMBEDDED_REPEAT_WINDOW,
            ignore_eos=True,
        )  # the grammar run's sampling, without the grammar
        engine.stats = []
        [res] = engine.generate([ChatRequest(prepared.messages, sp)])
        row["rep_plain"] = repeated_4gram_rate(res.text)
        row["tok_s_plain"] = decode_rate()
        text = paper.latex or paper.generated_text
        # the embedded budget and bounds, as the README's commands use them (the grammar's free
        # text is fitted to the token budget); --words / --reviewers override the bounds
        kw = {"engine": engine, "constrain": True, "grammar_bounds": None if bounds == EMBEDDED_BOUNDS else bounds}
        cr = CycleReviewer(model="embedded", **kw)
        cr.sampling.seed = seed
        [r] = cr.review([text])
        row["cr_ok"], row["cr_warnings"] = review_complete(r, False), r.warnings
        row["tpw_cr"] = tokens_per_word(engine, r.raw_text)
        dr = DeepReviewer(model="embedded", **kw)
        dr.sampling.seed = seed
        [f] = dr.review([text], mode="fast")
        row["fast_ok"], row["fast_warnings"] = review_complete_fast(f), f.warnings
        row["tpw_fast"] = tokens_per_word(engine, f.raw_text)
        [s] = dr.review([text], mode="standard", reviewer_num=bounds.reviewers)
        row["std_ok"], row["std_warnings"] = review_complete(s, True), s.warnings
        row["tpw_std"] = tokens_per_word(engine, s.raw_text)
        row["std_tokens"] = engine.stats[-1].completion_tokens
        rows.append(row)
        report()
    engine.close()


def tokens_per_word(engine, text: str, which: int = -1) -> float:  # type: ignore[no-untyped-def]
    """New tokens of the request ``engine.stats[which]`` per whitespace-split word of its output:
    the rate the grammar fitting assumes at most (``EMBEDDED_TOKENS_PER_WORD``)."""
    return engine.stats[which].completion_tokens / max(1, len(text.split()))


def review_complete_fast(r) -> bool:  # type: ignore[no-untyped-def]
    """Fast mode has no simulated reviewers: the final rating, summary and decision."""
    return r.final.get("rating") is not None and bool(r.final_text.get("summary")) and r.decision is not None


if __name__ == "__main__":
    main()
