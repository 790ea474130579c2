"""``AIDetector``: Fast-DetectGPT on whole papers, with the probability from a calibration."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputError
from ..models import display_name
from .calibration import NOT_FOR_PAPERS, Calibration, confidence_level, find_calibration
from .criterion import Stats
from .windows import plan_windows

#: fewer scored tokens than this give a criterion dominated by noise; we refuse to score them
MIN_TOKENS = 32
#: default window (tokens) and overlap; see windows.py for the rule
DEFAULT_WINDOW = 2048
#: The paper rule. A text is paper-length when it comes from a paper (a .pdf, .tex or Paper .json
#: file, a run's paper, a Paper dict given to analyze_paper) or has at least PAPER_TOKENS scored
#: tokens: longer than an abstract, and about twice the longest text of the packaged calibration.
#: On such text a calibration whose domain is not papers gives no probability (calibration.py).
PAPER_TOKENS = 512
PAPER_KINDS = frozenset({"pdf", "latex", "paper-json"})


@contextmanager
def _scoring(n_tokens: int, index: int) -> Iterator[Callable[[int, bool], None]]:
    """``report(tokens scored, last)`` into the ambient reporter: inside its open batch (text
    ``index`` of ``detect_batch``), or as a one-text batch of its own (the web's detect job)."""
    from ..engines.base import TokenProgress
    from ..progress import current

    reporter = current()
    if reporter is None:
        yield lambda _tokens, _last: None
        return
    alone = reporter.tracker is None
    if alone:
        reporter.begin("detect", [n_tokens], exact=True)
    start = time.perf_counter()

    def report(tokens: int, last: bool) -> None:
        elapsed = time.perf_counter() - start
        reporter.update(TokenProgress(index, None, min(tokens, n_tokens), n_tokens, elapsed, last))

    try:
        yield report
    finally:
        if alone:
            reporter.end()


def _done(index: int) -> None:
    """A text that could not be scored counts as done in the batch's line."""
    from ..engines.base import TokenProgress
    from ..progress import current

    reporter = current()
    if reporter is not None and reporter.tracker is not None:
        reporter.update(TokenProgress(index, None, 0, 0, 0.0, True))


def is_paper_length(n_tokens: int, paper: bool = False) -> bool:
    return paper or n_tokens >= PAPER_TOKENS


def paper_reason(paper: bool, n_tokens: int) -> str:
    """Which half of the paper rule made a text paper-length."""
    if paper:
        return "a paper (.pdf, .tex, Paper .json or a run's paper)"
    return f"{n_tokens} tokens >= {PAPER_TOKENS}"


def withheld_statement(cal: Calibration, scoring_model: str) -> str:
    """Why paper-length texts get no probability from ``cal``, and what to do instead."""
    ev = cal.info.get("paper_eval") or {}
    measured = [
        f"{ev[k]['auroc_criterion']:.3f} on {k}"
        for k in ("abstracts", "papers")
        if isinstance(ev.get(k), dict) and isinstance(ev[k].get("auroc_criterion"), (int, float))
    ]
    chance = f"; this scorer measured AUROC {', '.join(measured)}, where 0.5 is chance" if measured else ""
    return (
        f"This scorer gives no reliable probability for papers (calibration '{cal.name}' was built on "
        f"{cal.domain} text, not papers{chance}). Only the criterion is reported (higher = more machine-like), "
        "with no human/machine label. A probability needs the command line with a calibration built on "
        f"papers for this scoring model ({display_name(scoring_model)}): `cycleresearcher detect calibrate "
        "--human DIR --machine DIR` builds one, `cycleresearcher detect PAPER --calibration FILE` uses it."
    )


@dataclass
class Detection:
    """One detection result (``to_dict`` is what ``detect --json`` prints)."""

    criterion: float
    probability: float | None
    is_likely_ai_generated: bool | None
    confidence_level: str
    n_tokens: int
    n_windows: int = 0
    calibrated_criterion: float | None = None
    scoring_model: str = ""
    reference_model: str = ""
    runtime: str = ""
    #: the scorer's --max-tokens (None: the whole text) and --window: a record says how it was scored
    max_tokens: int | None = None
    window: int | None = None
    calibration: str | None = None
    mapping: str | None = None
    truncated: bool = False
    elapsed_s: float = 0.0
    source: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    paper: bool = False  # paper-length by the paper rule (PAPER_TOKENS / a paper input)
    probability_withheld: str | None = None  # why there is no probability, when the calibration has one

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("criterion", "calibrated_criterion", "probability"):
            if isinstance(d[k], float) and math.isnan(d[k]):
                d[k] = None  # JSON has no NaN
        return d


def _model_names(model: str) -> list[str]:
    from ..models import EMBEDDED_NAME, is_embedded

    names = [model]
    if is_embedded(model):
        names.append(EMBEDDED_NAME)
    return names


class AIDetector:
    """Fast-DetectGPT detector.

    ``AIDetector(device="cpu").analyze_paper(paper)`` returns ``criterion``, ``probability``,
    ``is_likely_ai_generated`` and ``confidence_level`` (as the original package) plus
    ``detection``, the typed :class:`Detection`.

    scoring_model / reference_model: a hub id, local dir or .gguf; default the embedded SmolLM2
    (the reference model defaults to the scoring model: one forward pass serves both).
    max_tokens: score only the first N tokens (upstream used 2048); default: the whole text.
    calibration: a calibration file, a :class:`Calibration`, ``None`` (the packaged one for the
    scoring model, if any) or ``"none"`` (criterion only).
    """

    def __init__(
        self,
        scoring_model: str | None = None,
        reference_model: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        max_tokens: int | None = None,
        window: int | None = None,
        overlap: int | None = None,
        calibration: str | Calibration | None = None,
        runtime: str = "auto",
        min_tokens: int = MIN_TOKENS,
    ):
        from ..hfmodels import check_device, check_dtype
        from ..models import EMBEDDED_NAME, resolve_model
        from .scorers import make_scorer

        if max_tokens is not None and max_tokens < 2:
            raise InputError("--max-tokens must be at least 2.")
        # checked before any model loads: a bad value is one line, not a torch traceback
        if window is not None and window < 2:
            raise InputError(f"--window must be at least 2 tokens, got {window}.")
        if overlap is not None and overlap < 0:
            raise InputError(f"overlap must be 0 or more tokens, got {overlap}.")
        check_device(device)
        check_dtype(dtype)
        self.scoring_model = resolve_model(scoring_model or EMBEDDED_NAME)
        self.reference_model = resolve_model(reference_model) if reference_model else self.scoring_model
        requested = window or DEFAULT_WINDOW
        self.scorer = make_scorer(self.scoring_model, self.reference_model, device, dtype, runtime, requested)
        self.window = min(requested, self.scorer.context_length)
        self.overlap = overlap if overlap is not None else self.window // 4
        self.max_tokens = max_tokens
        self.min_tokens = min_tokens
        if isinstance(calibration, Calibration):
            self.calibration: Calibration | None = calibration
        elif calibration is None:
            same = self.reference_model == self.scoring_model
            self.calibration = find_calibration(_model_names(self.scoring_model)) if same else None
        elif str(calibration).lower() == "none":
            self.calibration = None
        else:
            self.calibration = Calibration.load(calibration)

    @property
    def settings(self) -> dict[str, Any]:
        """What changes the criteria this detector gives (models, runtime, tokens, window) and the
        calibration that maps them: records of different settings do not compare."""
        cal = self.calibration
        return {**self._scored_with(), "calibration": cal.name if cal is not None else None}

    def _scored_with(self) -> dict[str, Any]:
        return {"scoring_model": self.scoring_model, "reference_model": self.reference_model,
                "runtime": self.scorer.runtime, "max_tokens": self.max_tokens, "window": self.window}  # fmt: skip

    # -- scoring ------------------------------------------------------------------------------
    def score_text(self, text: str) -> tuple[Stats, int, bool]:
        """(statistics, windows used, truncated) for one text; raises InputError when too short.
        Scored tokens go to the ambient progress reporter (as the batch's text ``_index``)."""
        if not text or not text.strip():
            raise InputError("The text is empty: nothing to score.")
        ids = self.scorer.tokenize(text)
        truncated = self.max_tokens is not None and len(ids) > self.max_tokens
        if truncated:
            ids = ids[: self.max_tokens]
        if len(ids) - 1 < self.min_tokens:
            raise InputError(
                f"The text has {max(len(ids) - 1, 0)} scorable tokens; Fast-DetectGPT needs at least {self.min_tokens} "
                "for a meaningful criterion. Pass a longer text (a paragraph or more)."
            )
        stats = Stats()
        plans = plan_windows(len(ids), self.window, self.overlap)
        with _scoring(len(ids), getattr(self, "_index", 0)) as report:
            for w in plans:
                stats = stats.add(self.scorer.window_stats(ids, w))
                report(w.end, w is plans[-1])
        return stats, len(plans), truncated

    def detect_text(
        self, text: str, source: str | None = None, paper: bool = False, index: int = 0
    ) -> Detection:
        """Score one text. ``paper``: it comes from a paper (file or record), whatever its length."""
        t0 = time.perf_counter()
        self._index = index  # score_text's signature stays (subclasses override it)
        stats, n_windows, truncated = self.score_text(text)
        crit = stats.criterion
        det = Detection(
            criterion=crit,
            probability=None,
            is_likely_ai_generated=None,
            confidence_level=confidence_level(None),
            n_tokens=stats.n,
            n_windows=n_windows,
            **self._scored_with(),
            truncated=truncated,
            source=source,
            paper=is_paper_length(stats.n, paper),
        )
        cal = self.calibration
        if cal is not None and det.paper and not cal.valid_for_papers:
            # e.g. the embedded scorer's short-prose calibration: near chance on papers, so no verdict
            det.calibration = cal.name
            det.confidence_level = NOT_FOR_PAPERS
            det.probability_withheld = withheld_statement(cal, self.scoring_model)
            det.notes.append(f"paper-length: {paper_reason(paper, stats.n)}")
            det.notes.append(det.probability_withheld)
        elif cal is None:
            det.notes.append(
                "No calibration for this scoring model: probability unavailable. A probability needs the "
                "command line with a calibration: `cycleresearcher detect calibrate --human DIR --machine DIR` "
                "builds one, `cycleresearcher detect PAPER --calibration FILE` uses it."
            )
        else:
            c = cal.normalise(crit, stats.n)
            p = cal.probability(c)
            det.calibrated_criterion = c
            det.probability = p
            det.is_likely_ai_generated = bool(p > 0.5)
            det.confidence_level = confidence_level(p)
            det.calibration = cal.name
            det.mapping = cal.mapping
            if cal.n_tokens and stats.n != cal.n_tokens:
                det.notes.append(f"criterion length-normalised to the calibration's {cal.n_tokens} tokens")
            if cal.info.get("caveat"):  # e.g. the embedded scorer's calibration is not valid for papers
                det.notes.append(f"calibration '{cal.name}': {cal.info['caveat']}")
        det.elapsed_s = time.perf_counter() - t0
        return det

    def analyze_paper(self, paper: dict[str, Any] | str) -> dict[str, Any]:
        """Original-package API: a Paper dict (title + " " + abstract + " " + latex, as upstream)
        or a plain string."""
        if isinstance(paper, dict):
            text = " ".join(str(paper.get(k) or "") for k in ("title", "abstract", "latex")).strip()
        else:
            text = str(paper)
        det = self.detect_text(text, paper=isinstance(paper, dict))
        return {
            "probability": det.probability,
            "confidence_level": det.confidence_level,
            "is_likely_ai_generated": det.is_likely_ai_generated,
            "criterion": det.criterion,
            "detection": det,
        }

    def detect_batch(
        self,
        texts: Sequence[str],
        sources: Sequence[str | None] | None = None,
        on_result: Callable[[int, Detection], None] | None = None,
        papers: Sequence[bool] | None = None,
    ) -> list[Detection]:
        """Detect many texts. A text that cannot be scored (empty, too short) gives a Detection
        with criterion NaN and ``error`` set; the batch goes on. ``papers``: per text, whether it
        comes from a paper (see :meth:`detect_text`). Progress (texts done, tokens scored, ETA)
        goes to the ambient reporter, as one batch: ``with progress.reporting(reporter):`` (the
        use case ``app.detect`` hands it the caller's ``Report``); none is drawn here."""
        from ..progress import current

        sources = list(sources) if sources is not None else [None] * len(texts)
        flags = list(papers) if papers is not None else [False] * len(texts)
        out: list[Detection] = []
        batch = current()
        if batch is not None:  # budgets in tokens: the ETA counts what is left to score
            batch.begin("detect", [self._budget(t) for t in texts], exact=True)
        try:
            for i, (text, src, flag) in enumerate(zip(texts, sources, flags, strict=True)):
                try:
                    det = self.detect_text(text, source=src, paper=flag, index=i)
                except InputError as exc:
                    det = self.failed(str(exc), src)
                    _done(i)
                out.append(det)
                if on_result:
                    on_result(i, det)
        finally:
            if batch is not None:
                batch.end()
        return out

    def _budget(self, text: str) -> int:
        n = len(self.scorer.tokenize(text)) if text and text.strip() else 0
        return min(n, self.max_tokens) if self.max_tokens is not None else n

    def failed(self, message: str, source: str | None = None) -> Detection:
        return Detection(
            criterion=math.nan,
            probability=None,
            is_likely_ai_generated=None,
            confidence_level="Not scored",
            n_tokens=0,
            **self._scored_with(),
            source=source,
            error=message,
        )
