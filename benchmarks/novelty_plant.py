"""The novelty check's plant test: can retrieval find a paper's own abstract from its idea, and
where does the similarity threshold of the verdict lie?

For each training record (``research/conversation_*.json`` under CYCLERESEARCHER_FIXTURES) the
paper's own title + abstract is hidden among every OTHER record's reference abstracts, and the
record's motivation + main idea (turn 3 of ``messages``, read by the project's parser) is the
query: where does the planted abstract rank (recall@1, recall@5 of the fused ranking, and of each
ranker alone), and how similar is it compared with the rest?  A harder variant adds the record's
OWN references (works on the same topic that the paper builds on) to the haystack. The ten papers
the 12B model generated from the tutorial references (``researcher_tutorial1_parsed.json``) are
planted the same way as further cases.

Two more kinds of case, written for this benchmark (our own words, below):
- near-duplicate paraphrases: an idea that restates a work of the haystack (named by its title);
  the check should call that work close prior work;
- unrelated ideas: ideas that no work of the haystack does; any "close prior work" verdict on them
  is a false alarm.

The threshold of each measure is chosen from the data: the largest similarity that any work of
ANOTHER paper (other records' references, real distractors) reached with a training record's
query, rounded up to the next 0.05. Then reported: the planted abstracts and paraphrases at or
above it, the unrelated ideas at or above it (false alarms), and the records whose OWN references
reach it (related work the paper builds on; such a reference may be close prior work indeed). Results: benchmarks/results/novelty_plant.{md,json}.

Usage: CYCLERESEARCHER_FIXTURES=../shared/fixtures python benchmarks/novelty_plant.py
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
from _common import write  # noqa: E402

from cycleresearcher.novelty.records import Work  # noqa: E402
from cycleresearcher.novelty.retrieval import EMBEDDING, LEXICAL, Embedder, rank  # noqa: E402
from cycleresearcher.novelty.subjects import subject_from_record  # noqa: E402

#: near-duplicate paraphrases (our own words) of works in the haystack: (idea, title it restates)
PARAPHRASES = [
    ("We build a sequence-to-sequence network for translation with no recurrent or convolutional layers "
     "at all: stacked self-attention and feed-forward blocks in the encoder and decoder, which trains in "
     "parallel and in much less time while scoring higher BLEU.", "Attention is All you Need"),
    ("Cut an image into fixed-size square patches, embed each patch linearly, add position embeddings "
     "and feed the sequence to a plain Transformer encoder to classify images; with large-scale "
     "pre-training this matches convolutional networks at lower training cost.",
     "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale"),
    ("Very deep convolutional networks are hard to optimise; let each block learn a residual with "
     "respect to its input through identity shortcut connections, so that networks of over a hundred "
     "layers train easily and gain accuracy from depth.", "Deep Residual Learning for Image Recognition"),
    ("We question whether Transformer models help long-term time series forecasting: a single "
     "linear layer on the look-back window beats the sophisticated Transformer forecasters on standard "
     "benchmarks.", "Are Transformers Effective for Time Series Forecasting?"),
    ("Split each channel of a multivariate time series into subseries patches used as input tokens "
     "of a Transformer, with channels processed independently with shared weights, for long-horizon "
     "forecasting and self-supervised pre-training.", "A Time Series is Worth 64 Words: Long-term Forecasting with Transformers"),
    ("Time series statistics drift over time; normalise every input window by its own mean and "
     "variance with learnable affine parameters and put those statistics back on the model's output, "
     "a symmetric layer that makes forecasters robust to distribution shift.",
     "Reversible Instance Normalization for Accurate Time-Series Forecasting against Distribution Shift"),
    ("Word embeddings trained on news text carry gender stereotypes (e.g. occupations); find the gender "
     "direction in the embedding space and remove it from gender-neutral words while keeping useful "
     "analogies.", "Man is to Computer Programmer as Woman is to Homemaker? Debiasing Word Embeddings"),
    ("A crowdsourced benchmark of minimally different sentence pairs, one more stereotyping than the "
     "other, across nine bias types such as race and religion, to measure how much masked language "
     "models prefer the stereotype.", "CrowS-Pairs: A Challenge Dataset for Measuring Social Biases in Masked Language Models"),
    ("Train image and text encoders jointly to predict which caption goes with which image over "
     "hundreds of millions of web pairs, then classify images zero-shot by comparing them with "
     "embedded class descriptions.", "Learning Transferable Visual Models From Natural Language Supervision"),
    ("Scale an autoregressive language model to 175 billion parameters and show that it performs new "
     "tasks from a few examples given in the prompt, without any gradient update or fine-tuning.",
     "Language Models are Few-Shot Learners"),
    ("Pre-train vision models by hiding most of the patches of an image, encoding only the visible "
     "ones, and reconstructing the missing pixels with a light decoder; this scales well and transfers "
     "to detection and segmentation.", "Masked Autoencoders Are Scalable Vision Learners"),
    ("Train neural networks with group distributionally robust optimisation, minimising the worst "
     "loss over predefined groups so that spurious correlations do not hurt rare groups, and show that "
     "strong regularisation is needed for this to work with overparameterised models.",
     "Distributionally Robust Neural Networks for Group Shifts: On the Importance of Regularization for Worst-Case Generalization"),
]  # fmt: skip

#: ideas that no work of the haystack does (our own words); half outside ML, half ML on other topics
UNRELATED = [
    "Estimate soil moisture across vineyards by fusing low-cost capacitive probes with satellite thermal imagery in a Kalman filter, to schedule irrigation per vine row.",
    "Date medieval parchment manuscripts from the Raman spectra of their iron-gall inks, calibrated on charters whose dates are known.",
    "Roster hospital nurses with an integer program that respects rest-time rules and individual preferences, and measure overtime and sick leave before and after.",
    "Reduce food waste in school cafeterias with menu-order nudges, evaluated in a cluster-randomised trial across forty schools.",
    "Predict corrosion of bridge stay cables from continuous acoustic emission monitoring and a survival model of wire breaks.",
    "Assess coral reef health from passive underwater audio recordings, counting fish calls and snapping shrimp with signal processing.",
    "Extend the cycle life of lithium-ion cells with charging profiles adapted to impedance spectroscopy measured at each cycle.",
    "Detect counterfeit wine bottles by imaging the microscopic texture of the printed labels with a phone camera.",
    "Speed up large language model inference with speculative decoding: a small draft model proposes tokens that the large model verifies in parallel.",
    "Reconstruct 3D scenes from a handful of photographs with neural radiance fields regularised by monocular depth priors.",
    "Predict molecular properties such as solubility with message-passing graph neural networks over atoms and bonds, pre-trained on unlabelled molecules.",
    "Train next-word prediction for phone keyboards with federated learning and differential privacy, so that typed text never leaves the device.",
    "Plan paths for warehouse robots with multi-agent conflict-based search that scales to a thousand robots on grid maps.",
    "Separate individual speakers in overlapping meeting recordings with a time-domain network trained with permutation-invariant loss.",
]


def fixtures() -> Path:
    root = os.environ.get("CYCLERESEARCHER_FIXTURES")
    if not root:
        sys.exit("set CYCLERESEARCHER_FIXTURES to the fixtures folder (see tests/conftest.py)")
    return Path(root)


def load_cases(root: Path) -> tuple[list[dict], list[dict]]:
    """(training records, generated papers): each with its query texts and planted work."""
    records = []
    for path in sorted((root / "research").glob("conversation_*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        subject = subject_from_record(data, path.name)
        records.append({
            "name": path.stem,
            "queries": [t for t in (subject.motivation, subject.idea) if t],
            "planted": Work(subject.title, subject.abstract, source="planted"),
            "own_refs": [w for w in subject.references if w.abstract],
        })  # fmt: skip
    generated = []
    tutorial = root / "research" / "researcher_tutorial1_parsed.json"
    if tutorial.exists():
        for i, p in enumerate(json.loads(tutorial.read_text(encoding="utf-8"))["papers"]):
            title = str(p.get("title") or "").strip().rstrip("}").strip()
            generated.append({
                "name": f"generated_{i + 1:02d}",
                "queries": [t.strip() for t in (p.get("motivation") or "", p.get("idea") or "") if t.strip()],
                "planted": Work(title, str(p.get("abstract") or "").strip(), source="planted"),
                "own_refs": [],
            })  # fmt: skip
    return records, generated


def plant_runs(
    cases: list[dict], records: list[dict], embedder: Embedder | None, hard: bool, distractors: list[Work]
) -> list[dict]:
    out = []
    for case in cases:
        others = [w for r in records if r["name"] != case["name"] for w in r["own_refs"]]
        haystack = [case["planted"], *others, *(case["own_refs"] if hard else []), *distractors]
        ranking = rank(case["queries"], haystack, embedder)
        sims = ranking.similarity
        out.append({
            "case": case["name"],
            "haystack": len(haystack),
            "fused_rank": ranking.order.index(0) + 1,
            "lexical_rank": ranking.lexical_rank[0],
            "embedding_rank": ranking.embedding_rank.get(0),
            "planted_similarity": float(sims[0]),
            "rest_max": float(sims[1:].max()) if len(sims) > 1 else None,
            "rest": [float(s) for s in sims[1:]],
        })  # fmt: skip
    return out


def recall(rows: list[dict], key: str, k: int) -> float:
    ranks = [r[key] for r in rows if r[key] is not None]
    return sum(1 for x in ranks if x <= k) / len(ranks) if ranks else float("nan")


def dist(values: list[float]) -> dict:
    if not values:
        return {}
    q = np.percentile(values, [5, 50, 95])
    return {"n": len(values), "min": min(values), "p5": q[0], "median": q[1], "p95": q[2], "max": max(values),
            "mean": statistics.fmean(values)}  # fmt: skip


def side_cases(
    records: list[dict], embedder: Embedder | None, threshold: float, distractors: list[Work]
) -> dict:
    """Paraphrases (should be close, top-1 the restated work) and unrelated ideas (false alarms)."""
    haystack = [w for r in records for w in r["own_refs"]] + distractors
    seen, unique = set(), []
    for w in haystack:  # two records may cite the same work
        if w.identity() not in seen:
            seen.add(w.identity())
            unique.append(w)
    titles = [w.identity() for w in unique]
    para = []
    for idea, title in PARAPHRASES:
        target = Work(title).identity()
        if target not in titles:
            continue
        ranking = rank([idea], unique, embedder)
        best = int(np.argmax(ranking.similarity))
        sim_target = float(ranking.similarity[titles.index(target)])
        para.append({"title": title, "fused_rank": ranking.order.index(titles.index(target)) + 1,
                     "similarity": sim_target, "top_is_target": titles[best] == target,
                     "flagged": sim_target >= threshold})  # fmt: skip
    unrelated = []
    for idea in UNRELATED:
        ranking = rank([idea], unique, embedder)
        best = int(np.argmax(ranking.similarity))
        unrelated.append({"idea": idea[:70], "best_similarity": float(ranking.similarity[best]),
                          "best_title": unique[best].title, "false_alarm": bool(ranking.similarity[best] >= threshold)})  # fmt: skip
    return {"haystack": len(unique), "paraphrases": para, "unrelated": unrelated}


def measure(
    records: list[dict], generated: list[dict], embedder: Embedder | None, distractors: list[Work], label: str
) -> dict:
    name = EMBEDDING if embedder is not None else LEXICAL
    start = time.perf_counter()
    plain = plant_runs(records, records, embedder, False, distractors)
    hard = plant_runs(records, records, embedder, True, distractors)
    gen = plant_runs(generated, records, embedder, False, distractors)
    rest_plain = [s for r in plain for s in r["rest"]]
    # the threshold: above every similarity of a training record's query with a work of ANOTHER
    # paper (other records' references, real distractors); its own references are related work
    # the paper builds on, which may well be close prior work, so they are reported, not used
    threshold = math.ceil(max(rest_plain) * 20) / 20
    side = side_cases(records, embedder, threshold, distractors)
    planted = [r["planted_similarity"] for r in plain + gen]
    summary = {
        "measure": name,
        "haystack": label,
        "distractors": len(distractors),
        "threshold": threshold,
        "threshold_rule": "max similarity of a training record's query with any work of another paper (other records' references, distractors), rounded up to 0.05",
        "own_references_at_or_above": sum(
            1 for r in hard if r["rest_max"] is not None and r["rest_max"] >= threshold
        ),
        "seconds": round(time.perf_counter() - start, 1),
    }
    for label, rows in (("records", plain), ("records_hard", hard), ("generated", gen)):
        summary[label] = {
            "cases": len(rows),
            "recall@1": recall(rows, "fused_rank", 1),
            "recall@5": recall(rows, "fused_rank", 5),
            "lexical_recall@1": recall(rows, "lexical_rank", 1),
            "lexical_recall@5": recall(rows, "lexical_rank", 5),
            "embedding_recall@1": recall(rows, "embedding_rank", 1),
            "embedding_recall@5": recall(rows, "embedding_rank", 5),
            "planted_above_threshold": sum(r["planted_similarity"] >= threshold for r in rows) / len(rows) if rows else float("nan"),
            "planted": dist([r["planted_similarity"] for r in rows]),
            "rest": dist([s for r in rows for s in r["rest"]]),
            "rows": [{k: v for k, v in r.items() if k != "rest"} for r in rows],
        }  # fmt: skip
    para, unrel = side["paraphrases"], side["unrelated"]
    summary["paraphrases"] = {
        "cases": len(para),
        "flagged": sum(p["flagged"] for p in para) / len(para) if para else float("nan"),
        "top1_is_target": sum(p["top_is_target"] for p in para) / len(para) if para else float("nan"),
        "rows": para,
    }
    summary["unrelated"] = {
        "cases": len(unrel),
        "false_alarm_rate": sum(u["false_alarm"] for u in unrel) / len(unrel),
        "best_similarity": dist([u["best_similarity"] for u in unrel]),
        "rows": unrel,
    }
    summary["haystack_side_cases"] = side["haystack"]
    summary["planted_all"] = dist(planted)
    return summary


def table(results: list[dict]) -> list[str]:
    lines = [
        "# Novelty check: plant test",
        "",
        "Query: a training record's motivation + main idea (turn 3). Haystack: the record's own title + abstract",
        "planted among every other record's reference abstracts (hard: its own references added too).",
        "Generated: the 12B model's ten tutorial papers, planted the same way. Ranking: BM25 and the measure,",
        "fused by reciprocal rank. Paraphrases and unrelated ideas: our own texts (benchmarks/novelty_plant.py).",
        "",
        "| measure | haystack | cases | recall@1 | recall@5 | recall@5 hard | recall@5 generated | planted sim (median, min) | rest sim (median, p95, max) | threshold | planted ≥ t | paraphrases ≥ t | false alarms (unrelated) | records whose own refs reach t |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rec, hard, gen = r["records"], r["records_hard"], r["generated"]
        lines.append(
            f"| {r['measure']} | {r['haystack']} | {rec['cases']} + {gen['cases']} | {rec['recall@1']:.2f} | {rec['recall@5']:.2f} | "
            f"{hard['recall@5']:.2f} | {gen['recall@5']:.2f} | {rec['planted']['median']:.3f}, {min(rec['planted']['min'], gen['planted'].get('min', 1)):.3f} | "
            f"{rec['rest']['median']:.3f}, {rec['rest']['p95']:.3f}, {rec['rest']['max']:.3f} | {r['threshold']:.2f} | "
            f"{(sum(x['planted_similarity'] >= r['threshold'] for x in rec['rows'] + gen['rows']) / (rec['cases'] + gen['cases'])):.2f} | "
            f"{r['paraphrases']['flagged']:.2f} ({r['paraphrases']['cases']}) | "
            f"{r['unrelated']['false_alarm_rate']:.2f} ({r['unrelated']['cases']}) | "
            f"{r['own_references_at_or_above']} of {rec['cases']} |"
        )
    lines += ["", "Per ranker alone (recall@1 / recall@5 on the training records, plain haystack):", ""]
    for r in results:
        rec = r["records"]
        emb = (
            f"embedding {rec['embedding_recall@1']:.2f} / {rec['embedding_recall@5']:.2f}; "
            if rec["embedding_recall@5"] == rec["embedding_recall@5"]
            else ""
        )
        lines.append(
            f"- {r['measure']}, {r['haystack']}: {emb}BM25 {rec['lexical_recall@1']:.2f} / {rec['lexical_recall@5']:.2f}"
        )
    lines += ["", "Unrelated ideas, best similarity (median / max):", ""]
    for r in results:
        b = r["unrelated"]["best_similarity"]
        worst = max(r["unrelated"]["rows"], key=lambda u: u["best_similarity"])
        lines.append(
            f"- {r['measure']}, {r['haystack']}: {b['median']:.3f} / {b['max']:.3f} (threshold {r['threshold']:.2f}; "
            f"highest: “{worst['idea']}…” with “{worst['best_title'][:60]}”)"
        )
    return lines


def distractor_works(folder: Path | None) -> tuple[list[Work], list[str]]:
    """Real abstracts from public bibliographies (.bib files under ``folder``), read with the
    project's reader; only entries with an abstract, each work once."""
    if folder is None:
        return [], []
    from cycleresearcher.novelty.sources import works_from_bibtex

    seen: set[str] = set()
    works, files = [], []
    for path in sorted(folder.glob("*.bib")):
        found = [
            w
            for w in works_from_bibtex(path.read_text(encoding="utf-8", errors="replace"), path.name)
            if len(w.abstract) > 200
        ]
        fresh = [w for w in found if w.identity() and w.identity() not in seen]
        seen.update(w.identity() for w in fresh)
        if fresh:
            works += fresh
            files.append(f"{path.name} ({len(fresh)})")
    return works, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distractors", type=Path, default=None,
                        help="A folder of real .bib files with abstracts added to every haystack (e.g. the "
                             "real-bibliography corpus rebuilt by the refs-load sources list)")  # fmt: skip
    args = parser.parse_args()
    root = fixtures()
    records, generated = load_cases(root)
    distractors, files = distractor_works(args.distractors)
    haystacks = [("fixtures", [])] + (
        [(f"fixtures + {len(distractors)} real", distractors)] if distractors else []
    )
    results = []
    for use_embeddings in (True, False):
        embedder = Embedder() if use_embeddings else None
        for label, extra in haystacks:
            results.append(measure(records, generated, embedder, extra, label))
    lines = table(results)
    from _common import cpu_model

    if files:
        lines += ["", f"Real distractors: {len(distractors)} abstracts over 200 characters from public bibliographies: "
                  + ", ".join(files) + "."]  # fmt: skip
    lines += ["", f"CPU: {cpu_model()} ({os.cpu_count()} cores)."]
    write("novelty_plant", {"results": results, "distractor_files": files}, lines)


if __name__ == "__main__":
    main()
