"""Calibrate: a calibration file for one scoring model, from the user's own labelled texts.

Scores the human and the machine texts (their criteria only: a calibration the detector may
already have plays no part), fits the mapping (``detect.build_calibration``: the window of
upstream with 200 references or more, else a logistic fit) and writes the file ``detect
--calibration FILE`` takes. Fewer than ``MIN_PER_CLASS`` texts per class is refused before any
model loads, unless forced (then said loudly).

The web page has no calibrate form on purpose: a calibration needs 20+20 labelled texts of the
user's own (folders on disk), and the page's detector is the one the server started with, so a
file made there could not be used there. The CLI (``detect calibrate``) is the place for it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..progress import reporting
from .detect import Scorer, Text, path_texts
from .report import Report
from .session import Sessions

if TYPE_CHECKING:
    from ..detect import AIDetector, Calibration


@dataclass(frozen=True)
class CalibrateRequest:
    #: a folder (or file) of human-written texts, and one of machine-generated texts
    human: str | Path
    machine: str | Path
    output: str | Path = "calibration.json"
    #: None: the session's detector
    scorer: Scorer | None = None
    #: what the texts are: "papers" (valid for papers) or another word (then papers get no probability)
    domain: str = "papers"
    #: build even with fewer than MIN_PER_CLASS texts per class
    force: bool = False


@dataclass
class CalibrateResult:
    calibration: Calibration
    path: Path
    #: why this mapping (window or logistic)
    why: str
    #: texts scored per class ("human", "machine")
    scored: dict[str, int]
    #: the median of the texts' scored tokens (the length criteria are normalised to)
    n_tokens: int


def calibrate(request: CalibrateRequest, sessions: Sessions, report: Report) -> CalibrateResult:
    from ..detect import MIN_PER_CLASS, build_calibration

    output = Path(request.output)
    if output.is_dir():
        raise InputError(f"-o {output}: is a folder. Pass the calibration file to write, e.g. {output}/mine.json.")
    found = {"human": _readable(request.human, report), "machine": _readable(request.machine, report)}
    counts = {k: len(v) for k, v in found.items()}
    if min(counts.values()) < MIN_PER_CLASS:
        if not request.force:  # refused before the model loads: scoring would be wasted
            raise InputError(
                f"{counts['human']} human and {counts['machine']} machine texts found; a calibration needs at least "
                f"{MIN_PER_CLASS} of each to be more than noise. Add texts, or pass --force to build it anyway."
            )
        report.warn(
            f"WARNING: --force with {counts['human']} human and {counts['machine']} machine texts "
            f"(< {MIN_PER_CLASS} per class): this calibration is mostly noise; its probabilities are not evidence."
        )
    report.step("loading the scoring model", sum(counts.values()))
    detector = sessions.detector() if request.scorer is None else replace(request.scorer, calibration="none").build()
    crits, tokens = _criteria(detector, found, report)
    if not tokens:
        raise InputError("No text could be scored. Check the --human and --machine folders.")
    n_tokens = sorted(tokens)[len(tokens) // 2]
    cal, why = build_calibration(
        name=output.name.removesuffix(".json"),
        real=crits["human"],
        samples=crits["machine"],
        models=[detector.scoring_model],
        n_tokens=n_tokens,
        info={
            "human": str(request.human),
            "machine": str(request.machine),
            "max_tokens": detector.max_tokens,
            "reference_model": detector.reference_model,
        },
        domain=request.domain,
        force=request.force,
    )
    cal.save(output)
    return CalibrateResult(cal, output, why, {k: len(v) for k, v in crits.items()}, n_tokens)


def _readable(folder: str | Path, report: Report) -> list[Text]:
    texts = path_texts([str(folder)])
    for t in texts:
        if t.error is not None:
            report.warn(f"{t.path}: {t.error}")
    return [t for t in texts if t.error is None]


def _criteria(
    detector: AIDetector, found: dict[str, list[Text]], report: Report
) -> tuple[dict[str, list[float]], list[int]]:
    """Each class's criteria (texts that could not be scored left out) and every scored length."""
    crits: dict[str, list[float]] = {}
    tokens: list[int] = []
    for name, texts in found.items():
        report.step(f"scoring the {name} texts")
        with reporting(report.tokens(f"calibrate {name}")):
            dets = detector.detect_batch(
                [t.text for t in texts], [t.path for t in texts], on_result=lambda _i, _d: report.advance()
            )
        crits[name] = [d.criterion for d in dets if not d.error]
        tokens += [d.n_tokens for d in dets if not d.error]
    return crits, tokens
