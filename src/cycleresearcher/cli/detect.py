"""CLI: `cycleresearcher detect` (Fast-DetectGPT on papers) and `detect calibrate`: options mapped
onto ``app.detect`` / ``app.calibrate``, their results printed."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape

from ._aliases import aliased
from ._common import EXIT_FAILED, console, guard, out
from ._group import group
from ._report import ConsoleReport
from ._tables import print_table

if TYPE_CHECKING:
    from ..app.calibrate import CalibrateResult
    from ..app.detect import DetectResult, LabelMetrics

FilesArg = Annotated[
    list[str], typer.Argument(help="Papers: .pdf, .tex, .md, .txt, Paper .json, folders, run directories.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON: one record per file (a list for several), as -o writes them.")]
ScoringOpt = Annotated[Optional[str], typer.Option(
    "--scoring-model", help="Scoring model: hub id, local dir or .gguf. Default: the embedded SmolLM2-135M.")]
ReferenceOpt = Annotated[Optional[str], typer.Option(
    "--reference-model", help="Reference model (same tokenizer). Default: the scoring model (one forward pass).")]
CalibrationOpt = Annotated[Optional[str], typer.Option(
    "--calibration", help="Calibration JSON (e.g. from `detect calibrate`); 'none' = criterion only.")]
LabelsOpt = Annotated[Optional[str], typer.Option(
    "--labels", help="CSV `file,label` (human/machine or 0/1): report accuracy, F1, AUROC.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:1 or auto.")]
DtypeOpt = Annotated[str, typer.Option(
    "--dtype", help="auto (fp32 on CPU, bf16/fp16 on GPU), float32, bfloat16, float16.")]
MaxTokOpt = Annotated[Optional[int], typer.Option(
    "--max-tokens", help="Score only the first N tokens (upstream: 2048). Default: the whole text, by windows.")]
RuntimeOpt = Annotated[str, typer.Option(
    "--runtime", help="auto (= transformers, also for a .gguf model), transformers or llama.cpp (GGUF only, opt-in).")]
WindowOpt = Annotated[Optional[int], typer.Option(
    "--window", help="Tokens per forward pass (default 2048, capped by the model's context).")]
OutOpt = Annotated[Optional[str], typer.Option(
    "--out", "-o", help="Write the results here: run store, detections.json and detections.md "
    "(the run directory `evaluate detection` reads). Default: write nothing.")]
HumanOpt = Annotated[str, typer.Option("--human", help="Folder (or file) of human-written texts.")]
MachineOpt = Annotated[str, typer.Option("--machine", help="Folder (or file) of machine-generated texts.")]
CalOutOpt = Annotated[str, typer.Option("--out", "-o", help="Calibration file to write (JSON).")]
DomainOpt = Annotated[str, typer.Option(
    "--domain",
    help="What the texts are: 'papers' (valid for papers) or another word (then papers get no probability).")]
ForceOpt = Annotated[bool, typer.Option(
    "--force", help="Build even with fewer than 20 texts per class (the result is mostly noise).")]


def register(app: typer.Typer) -> None:
    detect_app = group(
        "detect",
        "Detect machine-written papers with Fast-DetectGPT (criterion, calibrated probability, label).\n\n"
        "Example: cycleresearcher detect paper.pdf drafts/ --json",
        default="run",
    )
    app.add_typer(detect_app, name="detect")
    detect_app.command("run")(run)
    detect_app.command("calibrate", cls=aliased(output="--out"))(calibrate)


class DetectReport(ConsoleReport):
    """The console report, with this command's notices printed as they always were (yellow, no
    prefix) and no progress line under ``--json``."""

    def __init__(self, progress: bool = True) -> None:
        super().__init__()
        self.progress = progress

    def warn(self, message: str) -> None:
        console.print(f"[yellow]{escape(message)}[/]", soft_wrap=True)

    def tokens(self, label: str):
        return super().tokens(label) if self.progress else None


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


@guard
def run(
    files: FilesArg,
    json_out: JsonOpt = False,
    max_tokens: MaxTokOpt = None,
    scoring_model: ScoringOpt = None,
    reference_model: ReferenceOpt = None,
    calibration: CalibrationOpt = None,
    labels: LabelsOpt = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
    runtime: RuntimeOpt = "auto",
    window: WindowOpt = None,
    output_dir: OutOpt = None,
) -> None:
    """Score papers: criterion, probability of machine generation, confidence label, tokens scored.

    A calibration whose domain is not papers (the packaged one of the embedded scorer) gives
    no probability for paper-length inputs (a .pdf/.tex/Paper .json file, a run's paper, or
    512+ tokens): criterion only.

    Example: cycleresearcher detect paper.pdf --max-tokens 2048 --json -o runs/detect
    """
    from ..app.detect import DetectRequest, Scorer, detect
    from ..app.session import Sessions

    scorer = Scorer(scoring_model, reference_model, device, dtype, max_tokens, window, calibration, runtime)
    request = DetectRequest(paths=files, scorer=scorer, output=output_dir, labels=labels)
    with Sessions() as sessions:
        result = detect(request, sessions, DetectReport(progress=not json_out))
    _show(result, json_out)
    if result.failed:  # reported above; the others were scored
        raise typer.Exit(EXIT_FAILED)


def _show(result: DetectResult, json_out: bool) -> None:
    from ..app.sources import failure_line

    for det in result.failed:
        console.print(f"[red]{escape(failure_line(det.source, det.error or ''))}[/]", soft_wrap=True)
    if json_out:
        records = result.records
        out.print_json(json.dumps(records[0] if len(records) == 1 else records))
    else:
        from rich.table import Table

        table = Table("file")  # numbers right-aligned: print_table keeps them whole, cuts the path
        table.add_column("criterion", justify="right")
        table.add_column("probability", justify="right")
        table.add_column("confidence")
        table.add_column("tokens", justify="right")
        for d in result.detections:
            probability = "none (paper)" if d.probability_withheld else _fmt(d.probability, ".2%")
            table.add_row(str(d.source), _fmt(d.criterion), probability, d.confidence_level, str(d.n_tokens))
        print_table(out, table)
    withheld = result.withheld
    if withheld:  # said once, in plain words, after the criteria
        console.print(
            f"[bold yellow]No probability for {len(withheld)} of {len(result.detections)} text(s): paper-length.[/] "
            f"{escape(withheld[0].probability_withheld or '')}"
        )
    cal = result.calibration
    if cal is not None and cal.info.get("caveat") and any(d.probability is not None for d in result.detections):
        # e.g. the embedded scorer's calibration on short text: say how far its probability goes
        console.print(f"[yellow]Calibration '{escape(cal.name)}':[/] {escape(cal.info['caveat'])}")
    if result.written:
        console.print(f"Wrote {', '.join(str(p) for p in result.written)}")
    if result.metrics is not None:
        _show_metrics(result.metrics)


def _show_metrics(m: LabelMetrics) -> None:
    for source in m.unlabelled:
        console.print(f"[yellow]{escape(source)}: no label in the CSV; left out of the metrics.[/]")
    if not m.n:
        console.print("[yellow]No labelled file was scored: no metrics.[/]")
        return
    if m.calibrated:
        line = f"accuracy {_fmt(m.accuracy, '.2%')}  F1 {_fmt(m.f1, '.4f')}  AUROC {_fmt(m.auroc, '.4f')}  (n={m.n})"
    else:
        line = (
            f"AUROC {_fmt(m.auroc, '.4f')} (of the criterion; accuracy/F1 need a probability for every text: "
            f"pass --calibration FILE valid for these texts)  (n={m.n})"
        )
    console.print(f"Detection metrics: {line}")


@guard
def calibrate(
    human: HumanOpt,
    machine: MachineOpt,
    output: CalOutOpt = "calibration.json",
    scoring_model: ScoringOpt = None,
    reference_model: ReferenceOpt = None,
    max_tokens: MaxTokOpt = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
    runtime: RuntimeOpt = "auto",
    domain: DomainOpt = "papers",
    force: ForceOpt = False,
) -> None:
    """Build a calibration file from your own labelled texts (reference criteria + logistic fit).

    Needs at least 20 human and 20 machine texts (--force to go on with fewer); prints the
    calibration's own held-out accuracy (5-fold cross-validation) and stores it in the file.

    Example: cycleresearcher detect calibrate --human human/ --machine generated/ -o mymodel.json
    """
    from ..app.calibrate import CalibrateRequest
    from ..app.calibrate import calibrate as build
    from ..app.detect import Scorer
    from ..app.session import Sessions

    scorer = Scorer(scoring_model, reference_model, device, dtype, max_tokens, runtime=runtime)
    request = CalibrateRequest(human, machine, output, scorer, domain, force)
    with Sessions() as sessions:
        result = build(request, sessions, DetectReport())
    _show_calibration(result)


def _show_calibration(result: CalibrateResult) -> None:
    cal, path = result.calibration, result.path
    for name, n in result.scored.items():
        console.print(f"{name}: {n} texts scored")
    console.print(
        f"Wrote {path}: {len(cal.real)} human, {len(cal.samples)} machine criteria, median {result.n_tokens} tokens."
    )
    console.print(f"Mapping: {cal.mapping} ({result.why}).")
    cv = cal.info["cross_validation"]
    console.print(
        f"Held-out ({cv['folds']}-fold cross-validation, {cv['n']} texts): accuracy {_fmt(cv['accuracy'], '.2%')}  "
        f"F1 {_fmt(cv['f1'], '.4f')}  AUROC {_fmt(cv['auroc'], '.4f')}; stored in info.cross_validation."
    )
    console.print(f"Domain: {cal.domain} ({'valid' if cal.valid_for_papers else 'no probability'} for papers).")
    console.print(f"Use it with: cycleresearcher detect FILES --calibration {path}")
