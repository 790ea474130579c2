"""How well does a scoring model separate human from machine-written *paper* text?

Builds two labelled sets from the conformance fixtures (``$CYCLERESEARCHER_FIXTURES``; test data
only, read in place, nothing copied):
- abstracts: machine = the abstracts of the 10 papers the released 12B model generated in the
  tutorial; human = the abstracts of the real papers in the training records and of the papers
  they cite (deduplicated, >= 400 characters);
- papers: machine = the 3 generated papers of ``detect/`` and the generated LaTeX body
  ``research/researcher_010_latex.txt``; human = the 2 human papers of ``detect/`` and the
  section text of the 6 real papers in the training records; each cut to the first --max-tokens.
Prints AUROC of the raw criterion (calibration-free: a monotone mapping cannot change it) and of
the packaged calibration's probability, with accuracy / F1 at p > 0.5.

With ``--update-calibration FILE`` the measured figures and a caveat built from them are written
into that calibration's ``info`` (``paper_eval``, ``caveat``), which ``detect`` then prints with
every probability it gives (how the packaged embedded-model calibration got its caveat).

Usage: python scripts/detector_fixture_eval.py [--model M] [--max-tokens 2048] [--human-abstracts 120]
       [--update-calibration src/cycleresearcher/data/calibration/smollm2-135m.json]
Writes benchmarks/results/detector_fixture_eval.json (scores and ids only, no fixture text).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_sets(fx: Path, n_human_abstracts: int, seed: int = 0) -> dict[str, list[tuple[str, str, int]]]:
    from cycleresearcher.paper.readers import read_document

    research = fx / "research"
    tut = json.loads((research / "researcher_tutorial1_parsed.json").read_text(encoding="utf-8"))
    m_abs = [(f"tutorial:{i}", p["abstract"].strip(), 1) for i, p in enumerate(tut["papers"])]
    seen: set[str] = set()
    h_abs: list[tuple[str, str, int]] = []
    h_pap: list[tuple[str, str, int]] = []
    for conv in sorted(research.glob("conversation_*.json")):
        rec = json.loads(conv.read_text(encoding="utf-8"))
        cands = [(rec.get("paperId") or conv.stem, rec.get("abstract") or "")]
        cands += [(r.get("paperId") or "", r.get("abstract") or "") for r in rec.get("references", [])]
        for pid, ab in cands:
            ab = ab.strip()
            if len(ab) >= 400 and ab[:80] not in seen:
                seen.add(ab[:80])
                h_abs.append((f"abstract:{pid}", ab, 0))
        body = "\n\n".join(f"{name}\n{text}" for name, text in rec.get("sections", []))
        h_pap.append((f"{conv.stem}:sections", body, 0))
    random.Random(seed).shuffle(h_abs)
    h_abs = h_abs[:n_human_abstracts]
    det = fx / "detect"
    for p in sorted(det.glob("human_paper_*.txt")):
        h_pap.append((p.stem, read_document(p).text, 0))
    m_pap = [(p.stem, read_document(p).text, 1) for p in sorted(det.glob("generated_paper_*.txt"))]
    m_pap.append(
        ("researcher_010_latex", (research / "researcher_010_latex.txt").read_text(encoding="utf-8"), 1)
    )
    return {"abstracts": m_abs + h_abs, "papers": m_pap + h_pap}


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="scoring model (default: the embedded SmolLM2-135M)")
    ap.add_argument("--max-tokens", type=int, default=2048)
    ap.add_argument("--human-abstracts", type=int, default=120)
    ap.add_argument(
        "--calibration", default=None, help="calibration file (default: the packaged one, if any)"
    )
    ap.add_argument("--update-calibration", default=None, help="write paper_eval + caveat into this file")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "detector_fixture_eval.json"))
    args = ap.parse_args()
    fx = os.environ.get("CYCLERESEARCHER_FIXTURES")
    if not fx or not Path(fx).is_dir():
        sys.exit("Set CYCLERESEARCHER_FIXTURES to the fixtures folder.")

    from cycleresearcher.detect import AIDetector
    from cycleresearcher.evaluation.detection import detection_metrics

    det = AIDetector(args.model, device="cpu", max_tokens=args.max_tokens, calibration=args.calibration)
    report: dict = {
        "model": det.scoring_model,
        "max_tokens": args.max_tokens,
        "calibration": det.calibration.name if det.calibration else None,
        "sets": {},
    }
    for name, items in load_sets(Path(fx), args.human_abstracts).items():
        dets = det.detect_batch([t for _, t, _ in items], sources=[s for s, _, _ in items])
        ys = [y for _, _, y in items]
        crit = [d.criterion for d in dets]
        # what the calibration's map gives, even where detect withholds it on papers (the point
        # is to measure that map on papers)
        cal = det.calibration
        probs = [
            cal.probability(cal.normalise(d.criterion, d.n_tokens)) if cal and not d.error else float("nan")
            for d in dets
        ]
        rows = [
            {
                "id": s,
                "label": y,
                "n_tokens": d.n_tokens,
                "criterion": d.criterion,
                "probability": None if p != p else p,  # NaN (not scored) -> null
            }
            for (s, _, y), d, p in zip(items, dets, probs, strict=True)
        ]
        res = {
            "criterion": detection_metrics(ys, crit, threshold=0.0),
            "probability": detection_metrics(ys, probs, threshold=0.5),
            "mean_criterion_machine": _mean([c for c, y in zip(crit, ys, strict=True) if y]),
            "mean_criterion_human": _mean([c for c, y in zip(crit, ys, strict=True) if not y]),
            "rows": rows,
        }
        report["sets"][name] = res
        print(
            f"{name}: n_machine={sum(ys)} n_human={len(ys) - sum(ys)} "
            f"AUROC(criterion)={res['criterion']['auroc']:.3f} "
            f"mean crit machine {res['mean_criterion_machine']:.3f} human {res['mean_criterion_human']:.3f}; "
            f"calibrated: acc={res['probability']['accuracy']} f1={res['probability']['f1']}"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    if args.update_calibration:
        update_calibration(Path(args.update_calibration), report)


def update_calibration(path: Path, report: dict) -> None:
    """Record the paper-domain figures in the calibration file and derive its caveat from them."""
    cal = json.loads(path.read_text(encoding="utf-8"))
    summary = {}
    for name, res in report["sets"].items():
        summary[name] = {
            "n_human": res["criterion"]["n_human"],
            "n_machine": res["criterion"]["n_machine"],
            "auroc_criterion": round(res["criterion"]["auroc"], 3),
            "accuracy_p_gt_0_5": round(res["probability"]["accuracy"], 3),
            "f1_p_gt_0_5": round(res["probability"]["f1"], 3),
        }
    summary["max_tokens"] = report["max_tokens"]
    summary["by"] = "scripts/detector_fixture_eval.py on the conformance fixtures (12B-generated vs human)"
    ab, pa = summary["abstracts"], summary["papers"]
    cal.setdefault("info", {})["paper_eval"] = summary
    cal["info"]["caveat"] = (
        "Built from short general prose and samples of SmolLM2-135M itself. The 135M scorer does not "
        "separate papers written by large models from human ones, whatever the calibration: AUROC "
        f"{ab['auroc_criterion']:.3f} on abstracts ({ab['n_machine']} by CycleResearcher-12B vs "
        f"{ab['n_human']} human) and {pa['auroc_criterion']:.3f} on papers ({pa['n_machine']} vs "
        f"{pa['n_human']}, first {report['max_tokens']:,} tokens), where 0.5 is chance. Read this "
        "probability as no evidence about a paper; score with a larger model (e.g. Llama-3.1-8B, as "
        "upstream) and a calibration from your own labelled papers (cycleresearcher detect calibrate)."
    )
    path.write_text(json.dumps(cal, indent=1) + "\n", encoding="utf-8")
    print(f"updated {path}: {cal['info']['caveat']}")


if __name__ == "__main__":
    main()
