"""CLI: `cycleresearcher detect` (Fast-DetectGPT on papers) and `detect calibrate`."""

from __future__ import annotations

import json
import math
from typing import Annotated, Optional

import typer

from ..app.runfolder import writable_dir
from ._aliases import aliased
from ._common import EXIT_FAILED, console, guard, out
from ._group import group
from ._tables import print_table

ScoringOpt = Annotated[
    Optional[str],
    typer.Option(
        "--scoring-model",
        help="Scoring model: hub id, local dir or .gguf. Default: the embedded SmolLM2-135M.",
    ),
]
ReferenceOpt = Annotated[
    Optional[str],
    typer.Option(
        "--reference-model",
        help="Reference model (same tokenizer). Default: the scoring model (one forward pass).",
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:1 or auto.")]
DtypeOpt = Annotated[
    str, typer.Option("--dtype", help="auto (fp32 on CPU, bf16/fp16 on GPU), float32, bfloat16, float16.")
]
MaxTokOpt = Annotated[
    Optional[int],
    typer.Option(
        "--max-tokens",
        help="Score only the first N tokens (upstream: 2048). Default: the whole text, by windows.",
    ),
]
RuntimeOpt = Annotated[str, typer.Option("--runtime", help="auto, transformers or llama.cpp (GGUF only).")]
WindowOpt = Annotated[
    Optional[int],
    typer.Option("--window", help="Tokens per forward pass (default 2048, capped by the model's context)."),
]


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def register(app: typer.Typer) -> None:
    detect_app = group(
        "detect",
        "Detect machine-written papers with Fast-DetectGPT (criterion, calibrated probability, label).\n\n"
        "Example: cycleresearcher detect paper.pdf drafts/ --json",
        default="run",
    )
    app.add_typer(detect_app, name="detect")

    @detect_app.command("run")
    @guard
    def run(
        files: Annotated[
            list[str],
            typer.Argument(help="Papers: .pdf, .tex, .md, .txt, Paper .json, folders, run directories."),
        ],
        json_out: Annotated[
            bool, typer.Option("--json", help="Print JSON: one object per file (a list for several).")
        ] = False,
        max_tokens: MaxTokOpt = None,
        scoring_model: ScoringOpt = None,
        reference_model: ReferenceOpt = None,
        calibration: Annotated[
            Optional[str],
            typer.Option(
                "--calibration",
                help="Calibration JSON (e.g. from `detect calibrate`); 'none' = criterion only.",
            ),
        ] = None,
        labels: Annotated[
            Optional[str],
            typer.Option(
                "--labels", help="CSV `file,label` (human/machine or 0/1): report accuracy, F1, AUROC."
            ),
        ] = None,
        device: DeviceOpt = "auto",
        dtype: DtypeOpt = "auto",
        runtime: RuntimeOpt = "auto",
        window: WindowOpt = None,
        output_dir: Annotated[
            Optional[str],
            typer.Option(
                "--out",
                "-o",
                help="Write the results here: run store, detections.json and detections.md "
                "(the run directory `evaluate detection` reads). Default: write nothing.",
            ),
        ] = None,
    ) -> None:
        """Score papers: criterion, probability of machine generation, confidence label, tokens scored.

        A calibration whose domain is not papers (the packaged one of the embedded scorer) gives
        no probability for paper-length inputs (a .pdf/.tex/Paper .json file, a run's paper, or
        512+ tokens): criterion only.

        Example: cycleresearcher detect paper.pdf --max-tokens 2048 --json -o runs/detect
        """
        from ..detect import PAPER_KINDS, PAPER_TOKENS, AIDetector
        from ..evaluation.detection import detection_metrics, match_label
        from ..evaluation.loading import load_detection_labels
        from ..paper.batch import iter_documents

        label_map = load_detection_labels(labels) if labels else None
        if output_dir:  # a bad folder is said before the model loads
            writable_dir(output_dir)
        detector = AIDetector(
            scoring_model,
            reference_model,
            device=device,
            dtype=dtype,
            max_tokens=max_tokens,
            window=window,
            calibration=calibration,
            runtime=runtime,
        )
        if detector.calibration is None:
            console.print(
                "[yellow]No calibration for this scoring model: probability unavailable (criterion only).[/]"
            )
        elif not detector.calibration.valid_for_papers:
            # the packaged calibration of the tiny embedded scorer: say up front what it will not do
            console.print(
                f"[yellow]Calibration '{detector.calibration.name}' is for {detector.calibration.domain} text: "
                f"paper-length inputs (.pdf, .tex, Paper .json, run papers, or >= {PAPER_TOKENS} tokens) get the "
                "criterion only, no probability.[/]"
            )
        docs = list(iter_documents(files))
        if not docs:
            console.print("No papers found in the given paths (.pdf, .tex, .md, .txt, .json).")
            raise typer.Exit(2)
        results = []
        texts, sources, slots, papers = [], [], [], []
        titles = ["" if isinstance(doc, Exception) else doc.title for _, doc in docs]
        for source, doc in docs:
            if isinstance(doc, Exception):
                results.append(detector.failed(str(doc), source))
            else:
                slots.append(len(results))
                results.append(None)
                texts.append(doc.text)
                sources.append(source)
                papers.append(doc.kind in PAPER_KINDS)
        for slot, det in zip(
            slots, detector.detect_batch(texts, sources, progress=not json_out, papers=papers), strict=True
        ):
            results[slot] = det
        for det in results:
            if det.error:
                console.print(f"[red]{det.source}: {det.error}[/]")
        if json_out:
            payload = [d.to_dict() for d in results]
            out.print_json(json.dumps(payload[0] if len(payload) == 1 else payload))
        else:
            from rich.table import Table

            table = Table("file", "criterion", "probability", "confidence", "tokens")
            for d in results:
                table.add_row(
                    str(d.source),
                    _fmt(d.criterion),
                    "none (paper)" if d.probability_withheld else _fmt(d.probability, ".2%"),
                    d.confidence_level,
                    str(d.n_tokens),
                )
            print_table(out, table)
        withheld = [d for d in results if d.probability_withheld]
        if withheld:  # said once, in plain words, after the criteria
            console.print(
                f"[bold yellow]No probability for {len(withheld)} of {len(results)} text(s): paper-length.[/] "
                f"{withheld[0].probability_withheld}"
            )
        cal = detector.calibration
        if cal is not None and cal.info.get("caveat") and any(d.probability is not None for d in results):
            # e.g. the embedded scorer's calibration on short text: say how far its probability goes
            console.print(f"[yellow]Calibration '{cal.name}':[/] {cal.info['caveat']}")
        if output_dir:
            from ..detect.report import detection_record, write_detections

            written = write_detections(output_dir, [detection_record(d, t) for d, t in zip(results, titles, strict=True)])
            console.print(f"Wrote {', '.join(str(p) for p in written)}")
        if label_map is not None:
            _report_metrics(results, label_map, detection_metrics, match_label)
        if any(d.error for d in results):  # reported above; the others were scored
            raise typer.Exit(EXIT_FAILED)

    @detect_app.command("calibrate", cls=aliased(output="--out"))
    @guard
    def calibrate(
        human: Annotated[str, typer.Option("--human", help="Folder (or file) of human-written texts.")],
        machine: Annotated[
            str, typer.Option("--machine", help="Folder (or file) of machine-generated texts.")
        ],
        output: Annotated[
            str, typer.Option("--out", "-o", help="Calibration file to write (JSON).")
        ] = "calibration.json",
        scoring_model: ScoringOpt = None,
        reference_model: ReferenceOpt = None,
        max_tokens: MaxTokOpt = None,
        device: DeviceOpt = "auto",
        dtype: DtypeOpt = "auto",
        runtime: RuntimeOpt = "auto",
        domain: Annotated[
            str,
            typer.Option(
                "--domain",
                help="What the texts are: 'papers' (valid for papers) or another word (then papers get no probability).",
            ),
        ] = "papers",
        force: Annotated[
            bool,
            typer.Option(
                "--force", help="Build even with fewer than 20 texts per class (the result is mostly noise)."
            ),
        ] = False,
    ) -> None:
        """Build a calibration file from your own labelled texts (reference criteria + logistic fit).

        Needs at least 20 human and 20 machine texts (--force to go on with fewer); prints the
        calibration's own held-out accuracy (5-fold cross-validation) and stores it in the file.

        Example: cycleresearcher detect calibrate --human human/ --machine generated/ -o mymodel.json
        """
        from ..detect import MIN_PER_CLASS, AIDetector, build_calibration
        from ..errors import InputError
        from ..paper.batch import iter_documents

        found: dict[str, list] = {}
        for name, folder in (("human", human), ("machine", machine)):
            found[name] = []
            for s, d in iter_documents([folder]):
                if isinstance(d, Exception):
                    console.print(f"[red]{s}: {d}[/]")
                else:
                    found[name].append((s, d))
        counts = {k: len(v) for k, v in found.items()}
        if min(counts.values()) < MIN_PER_CLASS:
            if not force:  # refuse before loading the model: scoring would be wasted
                raise InputError(
                    f"{counts['human']} human and {counts['machine']} machine texts found; a calibration needs at least "
                    f"{MIN_PER_CLASS} of each to be more than noise. Add texts, or pass --force to build it anyway."
                )
            console.print(
                f"[bold red]WARNING: --force with {counts['human']} human and {counts['machine']} machine texts "
                f"(< {MIN_PER_CLASS} per class): this calibration is mostly noise; its probabilities are not evidence.[/]"
            )
        detector = AIDetector(
            scoring_model,
            reference_model,
            device=device,
            dtype=dtype,
            max_tokens=max_tokens,
            calibration="none",
            runtime=runtime,
        )
        crits: dict[str, list[float]] = {}
        tokens: list[int] = []
        for name, good in found.items():
            dets = detector.detect_batch([d.text for _, d in good], [s for s, _ in good])
            crits[name] = [d.criterion for d in dets if not d.error]
            tokens += [d.n_tokens for d in dets if not d.error]
            console.print(f"{name}: {len(crits[name])} texts scored")
        if not tokens:
            raise InputError("No text could be scored. Check the --human and --machine folders.")
        n_tokens = sorted(tokens)[len(tokens) // 2]
        cal, why = build_calibration(
            name=output.rsplit("/", 1)[-1].removesuffix(".json"),
            real=crits["human"],
            samples=crits["machine"],
            models=[detector.scoring_model],
            n_tokens=n_tokens,
            info={
                "human": human,
                "machine": machine,
                "max_tokens": max_tokens,
                "reference_model": detector.reference_model,
            },
            domain=domain,
            force=force,
        )
        cal.save(output)
        console.print(
            f"Wrote {output}: {len(cal.real)} human, {len(cal.samples)} machine criteria, median {n_tokens} tokens."
        )
        console.print(f"Mapping: {cal.mapping} ({why}).")
        cv = cal.info["cross_validation"]
        console.print(
            f"Held-out ({cv['folds']}-fold cross-validation, {cv['n']} texts): accuracy {_fmt(cv['accuracy'], '.2%')}  "
            f"F1 {_fmt(cv['f1'], '.4f')}  AUROC {_fmt(cv['auroc'], '.4f')}; stored in info.cross_validation."
        )
        console.print(
            f"Domain: {cal.domain} ({'valid' if cal.valid_for_papers else 'no probability'} for papers)."
        )
        console.print(f"Use it with: cycleresearcher detect FILES --calibration {output}")


def _report_metrics(results, label_map, detection_metrics, match_label) -> None:
    ys, ps, cs = [], [], []
    for d in results:
        y = match_label(label_map, str(d.source))
        if y is None:
            console.print(f"[yellow]{d.source}: no label in the CSV; left out of the metrics.[/]")
            continue
        ys.append(y)
        ps.append(d.probability)
        cs.append(d.criterion)
    if not ys:
        console.print("[yellow]No labelled file was scored: no metrics.[/]")
        return
    auroc = detection_metrics(ys, cs, 0.0)["auroc"]
    if all(p is not None for p in ps):  # accuracy/F1 only where every labelled text has a probability
        m = detection_metrics(ys, ps, 0.5)
        line = f"accuracy {_fmt(m['accuracy'], '.2%')}  F1 {_fmt(m['f1'], '.4f')}  AUROC {_fmt(auroc, '.4f')}  (n={m['n']})"
    else:
        line = (
            f"AUROC {_fmt(auroc, '.4f')} (of the criterion; accuracy/F1 need a probability for every text: "
            f"pass --calibration FILE valid for these texts)  (n={len(ys)})"
        )
    console.print(f"Detection metrics: {line}")
