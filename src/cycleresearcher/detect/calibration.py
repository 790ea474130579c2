"""From a criterion to a probability: the upstream nearest-window mapping and a logistic fit.

A calibration belongs to one scoring model (and text domain): it holds reference criteria of
human-written (``real``) and machine-generated (``samples``) texts, in the same JSON layout as
upstream's ``llama-8B-ref.json`` (``{"name", "info", "predictions": {"real", "samples"}}``) plus
optional fields of ours: ``models`` (names it applies to), ``n_tokens`` (typical token count of
its texts), ``mapping`` ("window" or "logistic"), ``logistic`` ({"coef", "intercept"}) and
``domain``: the kind of text its references are. ``"papers"`` (what ``detect calibrate`` writes
by default) or no domain (upstream's file, built from papers) make it valid for papers; any other
value (the packaged embedded-model file says ``"short-prose"``) gives no probability on papers
(api.py has the rule for what counts as a paper).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import safejson
from ..errors import InputError

Mapping = Literal["window", "logistic"]

#: upstream: the 101st nearest of 200 reference criteria sets the window half-width
UPSTREAM_K = 100
#: below this many reference criteria the window mapping is too coarse; use the logistic fit
MIN_WINDOW_REFERENCES = 200
#: fewer texts per class than this and a calibration is mostly noise (5 + 5 texts once scored a
#: human paper 61% machine); ``detect calibrate`` refuses unless --force
MIN_PER_CLASS = 20
#: folds of the cross-validation that reports a calibration's own held-out accuracy
CV_FOLDS = 5
#: the domain that makes a calibration valid for papers
PAPERS = "papers"

LOW, MODERATE, HIGH, VERY_HIGH = (
    "Low likelihood of AI generation",
    "Moderate likelihood of AI generation",
    "High likelihood of AI generation",
    "Very high likelihood of AI generation",
)
UNCALIBRATED = "Unavailable (no calibration for this scoring model)"
NOT_FOR_PAPERS = "Unavailable for papers (criterion only)"


def confidence_level(p: float | None) -> str:
    """Upstream labels: < 0.3 low, < 0.5 moderate, < 0.7 high, otherwise very high."""
    if p is None or math.isnan(p):
        return UNCALIBRATED
    if p < 0.3:
        return LOW
    if p < 0.5:
        return MODERATE
    if p < 0.7:
        return HIGH
    return VERY_HIGH


@dataclass(frozen=True)
class WindowResult:
    probability: float
    offset: float
    cnt_real: int
    cnt_fake: int


def window_probability(
    criterion: float, real: list[float], samples: list[float], k: int | None = None
) -> WindowResult:
    """Upstream mapping: the half-width is the distance to the (k+1)-th nearest reference criterion
    (k = 100 for upstream's 200 references; k = n // 2 when there are fewer), and the probability
    is the share of generated references strictly inside that open window."""
    n = len(real) + len(samples)
    if n < 2:
        raise InputError("A calibration needs at least 2 reference criteria. Rebuild it with more texts.")
    k = min(UPSTREAM_K, n // 2) if k is None else k
    offset = sorted(abs(x - criterion) for x in (*real, *samples))[k]
    lo, hi = criterion - offset, criterion + offset
    cnt_real = sum(lo < x < hi for x in real)
    cnt_fake = sum(lo < x < hi for x in samples)
    total = cnt_real + cnt_fake
    return WindowResult(cnt_fake / total if total else 0.5, offset, cnt_real, cnt_fake)


def fit_logistic(real: list[float], samples: list[float]) -> dict[str, float]:
    """P(machine | criterion) = sigmoid(coef·c + intercept), fitted with scikit-learn."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array([*real, *samples], dtype=float).reshape(-1, 1)
    y = np.array([0] * len(real) + [1] * len(samples))
    lr = LogisticRegression(C=1.0).fit(x, y)
    return {"coef": float(lr.coef_[0][0]), "intercept": float(lr.intercept_[0])}


@dataclass
class Calibration:
    name: str
    real: list[float]
    samples: list[float]
    models: list[str] = field(default_factory=list)
    n_tokens: int | None = None
    mapping: Mapping = "window"
    logistic: dict[str, float] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    domain: str | None = None

    @property
    def valid_for_papers(self) -> bool:
        """Papers domain, or none recorded (upstream's file and older ones, built from papers)."""
        return self.domain is None or self.domain.strip().lower() == PAPERS

    # -- mapping ------------------------------------------------------------------------------
    def normalise(self, criterion: float, n_tokens: int | None) -> float:
        """Bring a criterion to the calibration's length. The criterion grows like sqrt(n) for a
        fixed per-token discrepancy, so c·sqrt(n_cal / n) is comparable with the references.
        Identity when the calibration records no length (upstream's file) or n is unknown."""
        if not self.n_tokens or not n_tokens or n_tokens == self.n_tokens:
            return criterion
        return criterion * math.sqrt(self.n_tokens / n_tokens)

    def probability(self, criterion: float) -> float:
        if math.isnan(criterion):
            return math.nan
        if self.mapping == "logistic":
            if not self.logistic:
                raise InputError(
                    f"Calibration {self.name}: mapping 'logistic' but no 'logistic' coefficients. Rebuild it."
                )
            z = self.logistic["coef"] * criterion + self.logistic["intercept"]
            return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
        return window_probability(criterion, self.real, self.samples).probability

    def matches(self, model: str) -> bool:
        names = {m.lower() for m in self.models}
        return model.lower() in names or Path(model).name.lower() in names

    # -- files --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "info": self.info,
            "predictions": {"real": self.real, "samples": self.samples},
        }
        d.update(
            {
                "models": self.models,
                "n_tokens": self.n_tokens,
                "mapping": self.mapping,
                "logistic": self.logistic,
                "domain": self.domain,
            }
        )
        return d

    def save(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        try:
            d = safejson.loads(Path(path).read_text(encoding="utf-8"), str(path))
            real = [float(x) for x in d["predictions"]["real"]]
            samples = [float(x) for x in d["predictions"]["samples"]]
        except safejson.NestingError:
            raise
        except FileNotFoundError as exc:
            raise InputError(
                f"Calibration file {path} not found. Check the path or build one with `cycleresearcher detect calibrate`."
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"{path}: not a calibration file (needs predictions.real and predictions.samples lists of numbers). "
                "Build one with `cycleresearcher detect calibrate --human DIR --machine DIR`."
            ) from exc
        mapping = d.get("mapping") or "window"
        if mapping not in ("window", "logistic"):
            raise InputError(f"{path}: unknown mapping {mapping!r}; use 'window' or 'logistic'.")
        return cls(
            name=str(d.get("name") or Path(path).stem),
            real=real,
            samples=samples,
            models=list(d.get("models") or []),
            n_tokens=d.get("n_tokens"),
            mapping=mapping,
            logistic=d.get("logistic"),
            info=dict(d.get("info") or {}),
            path=str(path),
            domain=str(d["domain"]) if d.get("domain") else None,
        )


def _choose_mapping(n: int, logistic: dict[str, float]) -> tuple[Mapping, str]:
    if n >= MIN_WINDOW_REFERENCES:
        why = f"{n} reference criteria (>= {MIN_WINDOW_REFERENCES}): the upstream nearest-window mapping is used"
        return "window", why
    why = (
        f"only {n} reference criteria (< {MIN_WINDOW_REFERENCES}): the nearest-window mapping would average over "
        f"most of them, so the logistic fit (coef {logistic['coef']:.3f}, intercept {logistic['intercept']:.3f}) is used"
    )
    return "logistic", why


def cross_validate(
    real: list[float], samples: list[float], folds: int = CV_FOLDS, seed: int = 0
) -> dict[str, Any]:
    """The calibration's own held-out figures: stratified k-fold (k = ``folds``, fewer when a
    class has fewer texts); each fold is mapped by a calibration built from the other folds, with
    the mapping that one would choose. Accuracy and F1 at p > 0.5, AUROC of the held-out p."""
    import random

    from ..evaluation.detection import detection_metrics

    k = max(2, min(folds, len(real), len(samples)))
    rng = random.Random(seed)
    parts: list[list[tuple[float, int]]] = [[] for _ in range(k)]
    for label, values in ((0, real), (1, samples)):
        order = list(values)
        rng.shuffle(order)
        for i, c in enumerate(order):
            parts[i % k].append((c, label))
    ys: list[int] = []
    ps: list[float] = []
    for i in range(k):
        train = [x for j, part in enumerate(parts) if j != i for x in part]
        t_real = [c for c, y in train if y == 0]
        t_samples = [c for c, y in train if y == 1]
        logistic = fit_logistic(t_real, t_samples)
        mapping, _ = _choose_mapping(len(train), logistic)
        fold = Calibration("fold", t_real, t_samples, mapping=mapping, logistic=logistic)
        for c, y in parts[i]:
            ys.append(y)
            ps.append(fold.probability(c))
    metrics = detection_metrics(ys, ps, 0.5)
    return {"folds": k, "seed": seed, **metrics}


def build_calibration(
    name: str,
    real: list[float],
    samples: list[float],
    models: list[str],
    n_tokens: int | None,
    info: dict[str, Any],
    domain: str | None = PAPERS,
    min_per_class: int = MIN_PER_CLASS,
    force: bool = False,
) -> tuple[Calibration, str]:
    """A calibration from labelled criteria, with the mapping chosen and the reason for it.

    The window mapping (upstream's) is used when there are at least 200 references, as upstream
    had; with fewer, the 101-nearest window spans most of the data and the estimate is coarse, so
    the smooth logistic fit is used. Both are stored; ``mapping`` may be edited by hand. Fewer than
    ``min_per_class`` texts in a class is refused unless ``force`` (then ``info`` says so); the
    cross-validated held-out figures go into ``info["cross_validation"]``.
    """
    clean_real = [x for x in real if not math.isnan(x)]
    clean_samples = [x for x in samples if not math.isnan(x)]
    if len(clean_real) < 2 or len(clean_samples) < 2:
        raise InputError(
            "A calibration needs at least 2 human and 2 machine texts with a criterion. Add more texts."
        )
    few = min(len(clean_real), len(clean_samples)) < min_per_class
    if few and not force:
        raise InputError(
            f"Only {len(clean_real)} human and {len(clean_samples)} machine texts were scored; a calibration needs at "
            f"least {min_per_class} of each to be more than noise. Add texts, or pass --force to build it anyway."
        )
    logistic = fit_logistic(clean_real, clean_samples)
    mapping, why = _choose_mapping(len(clean_real) + len(clean_samples), logistic)
    extra: dict[str, Any] = {
        "mapping_reason": why,
        "cross_validation": cross_validate(clean_real, clean_samples),
    }
    if few:
        extra["below_minimum"] = f"built with --force from fewer than {min_per_class} texts per class"
    cal = Calibration(
        name, clean_real, clean_samples, models, n_tokens, mapping, logistic, {**info, **extra}, domain=domain
    )
    return cal, why


def packaged_calibrations() -> list[Calibration]:
    from importlib.resources import files

    out = []
    folder = files("cycleresearcher").joinpath("data", "calibration")
    if folder.is_dir():
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".json"):
                out.append(Calibration.load(str(entry)))
    return out


def find_calibration(model_names: list[str]) -> Calibration | None:
    """The packaged calibration whose ``models`` lists one of ``model_names``, if any."""
    for cal in packaged_calibrations():
        if any(cal.matches(m) for m in model_names if m):
            return cal
    return None
