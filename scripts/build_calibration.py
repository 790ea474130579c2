"""Build the packaged calibration of the embedded SmolLM2-135M scoring model.

Human-written texts: prose paragraphs from the package descriptions (``METADATA``) that installed
Python packages ship in site-packages, and the licence texts under /usr/share/common-licenses;
deduplicated, code and tables left out, cut to ~1,200 characters.
Machine texts: samples from the embedded model itself (llama.cpp, temperature 0.7, top-p 0.95),
prompted for paragraphs and paper sections on varied topics.
Every text is scored with the detector's default runtime (transformers, fp32, one pass). A random
25% of each class is held out: the file records held-out accuracy / F1 / AUROC, then the
calibration is refitted on all texts.

Usage: python scripts/build_calibration.py [--n 40] [-o src/cycleresearcher/data/calibration/smollm2-135m.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import sysconfig
import time
from pathlib import Path

TOPICS = [
    "coral reefs",
    "the printing press",
    "sleep and memory",
    "urban gardens",
    "volcanoes",
    "graph neural networks",
    "reinforcement learning for robots",
    "the history of tea",
    "solar power",
    "protein folding",
    "medieval castles",
    "language models",
    "rainforests",
    "bicycle design",
    "quantum computing",
    "honey bees",
    "deep sea exploration",
    "the Roman roads",
    "image segmentation",
    "climate models",
    "jazz music",
    "vaccines",
    "sparse attention",
    "desert ecosystems",
    "recommender systems",
    "glaciers",
    "optimizers for neural networks",
    "ancient astronomy",
    "federated learning",
    "bird migration",
    "compilers",
    "wind turbines",
    "speech recognition",
    "paper making",
    "causal inference",
    "public libraries",
    "diffusion models",
    "river deltas",
    "time series forecasting",
    "chess engines",
]
PROMPTS = [
    "Write a paragraph about {t}.",
    "Write the introduction of a research paper about {t}.",
    "Write the abstract of a scientific paper on {t}.",
    "Explain {t} to a student in one detailed paragraph.",
]


def human_texts(n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Prose paragraphs (own-language human writing) from installed package metadata and licences."""
    site = Path(sysconfig.get_paths()["purelib"])
    files = sorted(site.glob("*.dist-info/METADATA")) + sorted(Path("/usr/share/common-licenses").glob("*"))
    seen, pieces, sources = set(), [], []
    for f in files:
        try:
            raw = f.read_text(encoding="utf-8", errors="strict")
        except (UnicodeDecodeError, OSError, IsADirectoryError):
            continue
        body = raw.split("\n\n", 1)[1] if f.name == "METADATA" and "\n\n" in raw else raw
        body = re.sub(r"```.*?```", "", body, flags=re.S)
        for para in re.split(r"\n\s*\n", body):
            para = " ".join(para.split())
            letters = sum(c.isalpha() or c == " " for c in para)
            if len(para) < 500 or letters / len(para) < 0.93 or para.count("|") > 2 or "http" in para:
                continue
            key = hashlib.sha1(para[:200].lower().encode()).hexdigest()
            if key in seen:
                continue
            seen.add(key)
            pieces.append(para[:1200])
            sources.append(f.parent.name if f.name == "METADATA" else f"common-licenses/{f.name}")
    idx = list(range(len(pieces)))
    rng.shuffle(idx)
    idx = idx[:n]
    return [pieces[i] for i in idx], sorted({sources[i] for i in idx})


def machine_texts(n: int, rng: random.Random) -> list[str]:
    from llama_cpp import Llama

    from cycleresearcher.models import embedded_model_path

    llm = Llama(model_path=str(embedded_model_path()), n_ctx=1024, verbose=False, seed=rng.randrange(2**31))
    out = []
    while len(out) < n:
        prompt = rng.choice(PROMPTS).format(t=rng.choice(TOPICS))
        r = llm.create_chat_completion(
            [{"role": "user", "content": prompt}],
            temperature=0.7,
            top_p=0.95,
            max_tokens=260,
            seed=rng.randrange(2**31),
        )
        text = r["choices"][0]["message"]["content"].strip()
        if len(text) >= 400:
            out.append(text)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="texts per class")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("-o", "--output", default="src/cycleresearcher/data/calibration/smollm2-135m.json")
    args = ap.parse_args()

    from cycleresearcher.detect import AIDetector, build_calibration
    from cycleresearcher.evaluation.detection import detection_metrics
    from cycleresearcher.models import EMBEDDED_GGUF, EMBEDDED_NAME

    rng = random.Random(args.seed)
    t0 = time.time()
    human, human_sources = human_texts(args.n, rng)
    machine = machine_texts(args.n, rng)
    print(f"{len(human)} human, {len(machine)} machine texts ({time.time() - t0:.0f} s)", file=sys.stderr)
    det = AIDetector(device="cpu", calibration="none")
    hd, md = det.detect_batch(human), det.detect_batch(machine)
    hc, mc = [d.criterion for d in hd], [d.criterion for d in md]
    ntok = sorted(d.n_tokens for d in hd + md)

    # held-out check: fit on 75% of each class, evaluate on the rest
    hi, mi = list(range(len(hc))), list(range(len(mc)))
    rng.shuffle(hi)
    rng.shuffle(mi)
    cut_h, cut_m = len(hi) * 3 // 4, len(mi) * 3 // 4
    info = {"models": [EMBEDDED_NAME, EMBEDDED_GGUF]}
    train, _ = build_calibration(
        "held-out", [hc[i] for i in hi[:cut_h]], [mc[i] for i in mi[:cut_m]], [], None, info
    )
    test_y = [0] * (len(hi) - cut_h) + [1] * (len(mi) - cut_m)
    test_c = [hc[i] for i in hi[cut_h:]] + [mc[i] for i in mi[cut_m:]]
    held_out = detection_metrics(test_y, [train.probability(c) for c in test_c], 0.5)
    cal, why = build_calibration(
        "smollm2-135m",
        hc,
        mc,
        [EMBEDDED_NAME, EMBEDDED_GGUF, "HuggingFaceTB/SmolLM2-135M-Instruct"],
        ntok[len(ntok) // 2],
        {
            "built_by": "scripts/build_calibration.py",
            "seed": args.seed,
            "runtime": "transformers fp32, one pass (scoring = reference)",
            "human": f"{len(hc)} prose paragraphs (<= 1,200 chars) from installed package METADATA and licence texts",
            "human_sources": human_sources,
            "machine": f"{len(mc)} samples of the embedded model (llama.cpp, T=0.7, top-p 0.95, <= 260 tokens)",
            "machine_prompts": PROMPTS,
            "held_out_25pct": held_out,
            "in_sample": detection_metrics([0] * len(hc) + [1] * len(mc), [*hc, *mc], 0.0)
            | {"note": "auroc of raw criteria"},
        },
        domain="short-prose",  # not papers: detect gives no probability on paper-length text
    )
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():  # the paper-domain figures come from scripts/detector_fixture_eval.py: keep them
        old = json.loads(out.read_text(encoding="utf-8")).get("info", {})
        cal.info.update({k: old[k] for k in ("paper_eval", "caveat") if k in old})
    cal.save(out)
    print(f"wrote {out}: mapping {cal.mapping} ({why}); held-out {held_out}", file=sys.stderr)


if __name__ == "__main__":
    main()
