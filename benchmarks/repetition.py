"""How much the embedded model repeats itself, by sampling setting: the repeated word-4-gram rate of
its papers, without and with the grammar, for llama.cpp repetition penalties over short and long
windows, all measured in one run on the same seeds. This chose ``EMBEDDED_REPEAT_PENALTY`` and
``EMBEDDED_REPEAT_WINDOW`` (prompts/grammars/slots.py).

    PYTHONPATH=src python benchmarks/repetition.py [--seeds 5]

Two rates per paper:
* ``free``: the free text only (motivation, idea, abstract and the LaTeX sections' prose, LaTeX
  commands removed). The grammar's own headers, fences and JSON keys repeat by design and are
  left out. Unconstrained papers rarely parse, so for them the whole text is their free text.
* ``whole``: the whole generated text, structure included.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write  # noqa: E402

#: (name, grammar, repeat_penalty, window): the old default first, the chosen one marked in the report
SETTINGS = [
    ("no grammar, no penalty (before)", False, 1.0, 64),
    ("no grammar, penalty 1.1 / 512", False, 1.1, 512),
    ("grammar, no penalty", True, 1.0, 64),
    ("grammar, penalty 1.3 / 64", True, 1.3, 64),
    ("grammar, penalty 1.1 / 512 (after)", True, 1.1, 512),
    ("grammar, penalty 1.2 / 512", True, 1.2, 512),
]


def repeated_4gram_rate(text: str) -> float:
    """Share of word 4-grams that already occurred earlier in the same text (0 = no repeats)."""
    words = text.split()
    grams = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
    return 0.0 if not grams else 1 - len(set(grams)) / len(grams)


def free_text(paper) -> str:  # type: ignore[no-untyped-def]
    """The prose the model chose: parsed fields and the LaTeX body without its commands."""
    if not (paper.motivation or paper.idea or paper.main_latex):
        return paper.generated_text
    body = re.sub(r"\\[a-zA-Z]+\*?(\{[^}]*\})?", " ", paper.main_latex or "")
    return " ".join([paper.motivation or "", paper.idea or "", paper.abstract or "", body])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()

    from cycleresearcher.engines.llamacpp import LlamaCppEngine
    from cycleresearcher.prompts.grammars import EMBEDDED_REPEAT_PENALTY, EMBEDDED_REPEAT_WINDOW
    from cycleresearcher.research import CycleResearcher, ResearchSettings

    engine = LlamaCppEngine(n_ctx=8192)
    ref = Path(__file__).parent.parent / "examples" / "references.bib"
    rows = []
    for name, grammar, penalty, window in SETTINGS:
        researcher = CycleResearcher(engine=engine)
        free, whole, complete, tokens = [], [], 0, 0
        start = time.perf_counter()
        for seed in range(args.seeds):
            settings = ResearchSettings(
                seed=seed, constrain=grammar, repeat_penalty=penalty, repeat_last_n=window
            )
            [prepared] = researcher.prepare([ref], settings)
            engine.stats = []
            [paper] = researcher.generate([prepared], settings)
            tokens += sum(s.completion_tokens for s in engine.stats)
            free.append(repeated_4gram_rate(free_text(paper)))
            whole.append(repeated_4gram_rate(paper.generated_text))
            complete += not paper.warnings
        rows.append({
            "setting": name, "grammar": grammar, "repeat_penalty": penalty, "window": window,
            "free_4gram": sum(free) / len(free), "whole_4gram": sum(whole) / len(whole),
            "per_seed_free": free, "no_warning": complete, "tokens": tokens,
            "seconds": round(time.perf_counter() - start, 1),
        })  # fmt: skip
        print(rows[-1], flush=True)
    engine.close()
    chosen = (EMBEDDED_REPEAT_PENALTY, EMBEDDED_REPEAT_WINDOW)
    lines = [
        "# Repetition of the embedded SmolLM2-135M by sampling setting (llama.cpp, CPU)",
        "",
        f"{args.seeds} papers per setting (seeds 0..{args.seeds - 1}), examples/references.bib, the embedded "
        f"default bounds; {machine()['cpu']}, load average at the end {os.getloadavg()[0]:.1f}.",
        "Repeated 4-gram rate = share of word 4-grams seen earlier in the same text (0 = none).",
        f"The embedded default now is penalty {chosen[0]} over the last {chosen[1]} tokens, with the grammar.",
        "",
        "| setting | free text 4-gram rate | whole text 4-gram rate | papers with no parser warning | tokens |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['setting']} | {r['free_4gram']:.3f} | {r['whole_4gram']:.3f} | "
            f"{r['no_warning']}/{args.seeds} | {r['tokens']} |"
        )
    write("repetition", {"machine": machine(), "seeds": args.seeds, "rows": rows}, lines)


if __name__ == "__main__":
    main()
