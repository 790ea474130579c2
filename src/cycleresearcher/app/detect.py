"""Detect: score texts with Fast-DetectGPT and keep one detection record per text.

The CLI calls ``detect`` with the paths it was given (files, folders, run folders) and its scorer
options; the page with a paper or an upload stored in a run, and the server's detector. Both read
a stored paper the same way (``paper.readers.paper_document``: hidden text left out), key each
record by the paper's id (the one its review gets) and write the same record
(``detect.report.detection_record``) into the same files. Token progress goes to the report's
``tokens`` as one batch (texts done, tokens scored, ETA): a progress line in the terminal, the
bar and time left on the job page.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..progress import reporting
from .kinds import RecordKind
from .report import Report
from .runfolder import RunFolder, new_run_dir, run_lock
from .session import Sessions

if TYPE_CHECKING:
    from ..detect import AIDetector, Calibration, Detection

KINDS = "(.pdf, .tex, .md, .txt, .json)"


@dataclass(frozen=True)
class Scorer:
    """The detector to build (the CLI's options). Defaults are ``AIDetector``'s: the embedded
    scorer with its packaged calibration."""

    scoring_model: str | None = None
    reference_model: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    max_tokens: int | None = None
    window: int | None = None
    #: a calibration file; "none": criterion only; None: the packaged one for the scorer, if any
    calibration: str | None = None
    runtime: str = "auto"

    def build(self) -> AIDetector:
        from ..detect import AIDetector

        return AIDetector(**asdict(self))


@dataclass(frozen=True)
class Text:
    """One text to score: ``id`` (its record's key), where it came from, its title, and whether it
    comes from a paper (the paper rule). ``error``: it could not be read, so it is not scored."""

    id: str
    path: str
    text: str = ""
    title: str = ""
    paper: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Stored:
    """A paper or an uploaded document stored in a run (the page's detect buttons)."""

    run: Path
    kind: RecordKind
    key: str


@dataclass(frozen=True)
class DetectRequest:
    #: files, folders and run folders, read as ``detect PATHS`` reads them
    paths: Sequence[str] = ()
    stored: Sequence[Stored] = ()
    texts: Sequence[Text] = ()
    #: None: the session's detector (the page's, built once for the server's life)
    scorer: Scorer | None = None
    #: where the records go (run store, detections.json, detections.md); None: nowhere
    output: str | Path | None = None
    #: a ``file,label`` CSV: accuracy, F1 and AUROC of the texts it labels
    labels: str | Path | None = None


@dataclass
class LabelMetrics:
    """``--labels``: AUROC of the criterion; accuracy and F1 (p > 0.5) only when every labelled
    text has a probability (None otherwise)."""

    n: int
    auroc: float | None
    accuracy: float | None = None
    f1: float | None = None
    #: texts the CSV gives no label (left out)
    unlabelled: list[str] = field(default_factory=list)

    @property
    def calibrated(self) -> bool:
        return self.accuracy is not None


@dataclass
class DetectResult:
    detections: list[Detection]
    #: one record per text, in the order given (``detect.report.detection_record``)
    records: list[dict[str, Any]]
    calibration: Calibration | None
    written: list[Path] = field(default_factory=list)
    metrics: LabelMetrics | None = None

    @property
    def failed(self) -> list[Detection]:
        return [d for d in self.detections if d.error]

    @property
    def withheld(self) -> list[Detection]:
        return [d for d in self.detections if d.probability_withheld]


def detect(request: DetectRequest, sessions: Sessions, report: Report) -> DetectResult:
    """Score every text of ``request``; a text that cannot be read or scored gets a record with
    its ``error`` and the others go on. Bad labels, a bad output folder, no text found or none
    readable are an InputError before any model loads, and then (as after a model that does not
    load) the output folder this call created is removed again (``runfolder.new_run_dir``)."""
    from ..evaluation.loading import load_detection_labels

    labels = load_detection_labels(request.labels) if request.labels else None
    report.step("reading the papers")
    texts = read_texts(request)  # before -o is made or locked: bad input leaves it untouched
    if not request.output:
        return _detect(request, texts, labels, sessions, report)
    with new_run_dir(request.output, "detect") as folder, run_lock(folder, "detect"):
        return _detect(request, texts, labels, sessions, report)  # the records go into -o: one process at a time


def read_texts(request: DetectRequest) -> list[Text]:
    """Every text of ``request``; InputError when there is none, or none could be read (one line
    each): that is bad input, not a run with failures."""
    texts = [*request.texts, *(stored_text(s) for s in request.stored), *path_texts(request.paths)]
    if not texts:
        raise InputError(f"No papers found in {', '.join(map(str, request.paths)) or 'the given paths'} {KINDS}.")
    if all(t.error is not None for t in texts):
        from .sources import nothing_readable

        raise InputError(nothing_readable([(t.path, t.error or "") for t in texts]))
    return texts


def _detect(
    request: DetectRequest, texts: list[Text], labels: Any, sessions: Sessions, report: Report
) -> DetectResult:
    from ..detect.report import detection_record, other_settings, write_detections

    report.step("loading the scoring model", len(texts))
    detector = sessions.detector() if request.scorer is None else request.scorer.build()
    notice = calibration_notice(detector.calibration)
    if notice:
        report.warn(notice)
    settings = getattr(detector, "settings", None)  # a stand-in detector may not say (tests)
    if request.output and settings:
        differ = other_settings(request.output, settings, {t.id for t in texts})
        if differ:  # said before scoring: the user can stop and pick another folder
            report.warn(
                f"{request.output} holds detections scored with other settings ({'; '.join(differ)}): "
                "its detections.json and .md will list both, and criteria of different settings do not "
                "compare. Pass a new -o folder to keep them apart."
            )
    detections = score(detector, texts, report)
    records = [detection_record(d, t.id, t.title, t.path) for d, t in zip(detections, texts, strict=True)]
    result = DetectResult(detections, records, detector.calibration)
    if request.output:
        result.written = write_detections(request.output, records)
    if labels is not None:
        result.metrics = label_metrics(detections, labels)
    return result


def score(detector: Any, texts: Sequence[Text], report: Report) -> list[Detection]:
    """The detections of ``texts``, one batch of the report's token progress; texts that could
    not be read are failed detections, in their place."""
    todo = [t for t in texts if t.error is None]
    report.step(f"scoring {len(todo)} text(s) (Fast-DetectGPT)")
    if len(todo) < len(texts):
        report.advance(len(texts) - len(todo))
    reporter = report.tokens("detect")
    with reporting(reporter) if reporter is not None else nullcontext():
        scored = detector.detect_batch(
            [t.text for t in todo], [t.path for t in todo], papers=[t.paper for t in todo],
            on_result=lambda _i, _d: report.advance(),
        )  # fmt: skip
    done = iter(scored)
    return [detector.failed(t.error, t.path) if t.error is not None else next(done) for t in texts]


def calibration_notice(cal: Calibration | None) -> str | None:
    """What the user should know before any text is scored: no probability at all, or none for
    papers (the packaged calibration of the embedded scorer)."""
    from ..detect import PAPER_TOKENS

    if cal is None:
        return "No calibration for this scoring model: probability unavailable (criterion only)."
    if not cal.valid_for_papers:
        return (
            f"Calibration '{cal.name}' is for {cal.domain} text: paper-length inputs (.pdf, .tex, Paper .json, "
            f"run papers, or >= {PAPER_TOKENS} tokens) get the criterion only, no probability."
        )
    return None


# -- what is read -------------------------------------------------------------------------------
def path_texts(paths: Sequence[str]) -> list[Text]:
    """The papers under ``paths`` (``paper.batch.iter_documents``), each with the id its review
    gets; a file that cannot be read is a Text with its error."""
    from ..detect import PAPER_KINDS
    from ..paper.batch import iter_documents
    from ..review.context import paper_id_for

    out = []
    for source, doc in iter_documents(paths) if paths else ():
        if isinstance(doc, Exception):
            out.append(Text(paper_id_for(source, ""), source, error=str(doc)))
        else:
            out.append(Text(paper_id_for(source, doc.text), source, doc.text, doc.title, doc.kind in PAPER_KINDS))
    return out


def stored_text(ref: Stored) -> Text:
    """A run's paper, read as ``detect RUN`` reads it (path ``RUN#paper/KEY``), or an uploaded
    document (path: its file name), keyed by its record's key."""
    from ..detect import PAPER_KINDS
    from ..paper.readers import paper_document

    data = RunFolder(ref.run).record(ref.kind, ref.key)
    if ref.kind == RecordKind.DOCUMENT:
        path = str(data.get("filename") or ref.key)
        return Text(ref.key, path, str(data.get("text") or ""), str(data.get("title") or ""),
                    data.get("kind") in PAPER_KINDS)  # fmt: skip
    if ref.kind != RecordKind.PAPER:
        raise InputError(f"Only a paper or an uploaded document can be scored, not a {ref.kind}.")
    label = f"{ref.run}#paper/{ref.key}"
    doc = paper_document(data, label)
    return Text(ref.key, label, doc.text, doc.title, True)


# -- labels -------------------------------------------------------------------------------------
def label_metrics(detections: Sequence[Detection], labels: dict[str, int]) -> LabelMetrics:
    from ..evaluation.detection import detection_metrics, match_label

    ys: list[int] = []
    ps: list[float | None] = []
    cs: list[float] = []
    unlabelled = []
    for d in detections:
        y = match_label(labels, str(d.source))
        if y is None:
            unlabelled.append(str(d.source))
            continue
        ys.append(y)
        ps.append(d.probability)
        cs.append(d.criterion)
    if not ys:
        return LabelMetrics(0, None, unlabelled=unlabelled)
    auroc = detection_metrics(ys, cs, 0.0)["auroc"]
    if any(p is None for p in ps):  # accuracy/F1 only where every labelled text has a probability
        return LabelMetrics(len(ys), auroc, unlabelled=unlabelled)
    m = detection_metrics(ys, ps, 0.5)
    return LabelMetrics(m["n"], auroc, m["accuracy"], m["f1"], unlabelled)
