"""Rewards: a score per sampled paper. Three kinds behind one small interface:

- ``function``: any ``module:function`` (or ``path/to/file.py:function``) with the shape
  ``(papers, **options) -> list[float | None]``; ``None`` marks a paper it could not score;
- ``cyclereviewer`` / ``deepreviewer``: the reviewer models; reward = the mean rating of the
  reviewers whose rating was parsed (a review without any parsed rating is "unrated"), and the
  decision feeds the round's accepted-rate.

``structure_reward`` is a cheap built-in heuristic for smoke runs (the CPU example uses it): the
embedded 135M stand-in cannot write a paper a reviewer could rate.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError, InputError
from .config import RewardConfig


@dataclass
class RewardScore:
    reward: float | None  # None = could not be scored ("unrated")
    decision: str | None = None  # Accept / Reject, when the reward model decides


class RewardModel(Protocol):
    name: str

    def score(self, papers: Sequence[Any]) -> list[RewardScore]: ...

    def close(self) -> None: ...


def paper_text(paper: Any) -> str:
    """What a reviewer reads: the paper's LaTeX when parsed, else the raw generation."""
    for attr in ("latex", "generated_text", "text"):
        value = getattr(paper, attr, None)
        if isinstance(value, str) and value.strip():
            return value
    return str(paper)


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"The reward function returned {value!r}; return a number or None per paper."
        ) from exc
    return None if math.isnan(x) else x


def load_function(spec: str, base_dir: str | Path = ".") -> Callable[..., Any]:
    """Import ``package.module:function`` or ``path/to/file.py:function`` (relative to ``base_dir``)."""
    target, _, name = spec.rpartition(":")
    if not target or not name:
        raise ConfigError(
            f"reward.function = '{spec}': write 'package.module:function' or 'file.py:function'."
        )
    if target.endswith(".py"):
        path = Path(target).expanduser()
        if not path.is_absolute():
            path = Path(base_dir) / path
        if not path.is_file():
            raise ConfigError(f"reward.function: file not found: {path}")
        mod_name = f"_cycle_reward_{abs(hash(str(path.resolve())))}"
        module = sys.modules.get(mod_name)
        if module is None:
            spec_obj = importlib.util.spec_from_file_location(mod_name, path)
            assert spec_obj is not None and spec_obj.loader is not None
            module = importlib.util.module_from_spec(spec_obj)
            sys.modules[mod_name] = module
            spec_obj.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(
                f"reward.function: cannot import '{target}' ({exc}). Is it on PYTHONPATH?"
            ) from exc
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ConfigError(f"reward.function: '{target}' has no function '{name}'.")
    return fn


class FunctionReward:
    """A user function ``(papers, **options) -> list[float | None]``."""

    def __init__(self, spec: str, options: dict[str, Any] | None = None, base_dir: str | Path = "."):
        self.name = f"function:{spec}"
        self.fn = load_function(spec, base_dir)
        self.options = dict(options or {})

    def score(self, papers: Sequence[Any]) -> list[RewardScore]:
        values = self.fn(list(papers), **self.options)
        values = list(values)
        if len(values) != len(papers):
            raise InputError(
                f"{self.name} returned {len(values)} rewards for {len(papers)} papers; return one per paper."
            )
        return [RewardScore(_clean(v)) for v in values]

    def close(self) -> None:
        return None


_REVIEWER_INIT = {
    "max_tokens",
    "temperature",
    "context_length",
    "n_ctx",
    "device",
    "dtype",
    "api_key",
    "prompt_form",
    "retriever",
    "best_variant",
    "model_size",
    "constrain",
}


class ReviewerReward:
    """CycleReviewer / DeepReviewer as the reward model: reward = mean parsed rating."""

    def __init__(self, kind: str, cfg: RewardConfig, store: Any = None, constrain: bool | None = None):
        self.name = kind
        # settings of the reviewer itself go to its constructor; the rest (e.g. mode) to each review call
        init = {k: v for k, v in cfg.options.items() if k in _REVIEWER_INIT}
        self.review_options = {k: v for k, v in cfg.options.items() if k not in _REVIEWER_INIT}
        if kind == "cyclereviewer":
            from ..review.cyclereviewer import CycleReviewer as cls
        else:
            from ..review.deepreviewer import DeepReviewer as cls
        # model None = the reviewer's default size (CycleReviewer 8B, DeepReviewer 14B); the
        # engine options go on to create_engine, which checks them against that engine
        self.reviewer = cls(
            model=cfg.model,
            engine=cfg.engine,
            base_url=cfg.base_url,
            constrain=constrain,
            **init,
            **cfg.engine_options,
        )
        self.store = store

    def score(self, papers: Sequence[Any]) -> list[RewardScore]:
        # Paper objects go in as they are: the reviewer reads their LaTeX; reviews land in the run store
        reviews = self.reviewer.review(list(papers), store=self.store, **self.review_options)
        return [review_score(r) for r in reviews]

    def close(self) -> None:
        close = getattr(self.reviewer, "close", None)
        if callable(close):
            close()


def review_score(review: Any) -> RewardScore:
    """Mean rating of the reviewers whose rating was parsed (None when none was)."""
    if review is None:
        return RewardScore(None)
    ratings = [o.rating for o in getattr(review, "reviewers", []) if getattr(o, "rating", None) is not None]
    if ratings:
        value: float | None = sum(ratings) / len(ratings)
    else:  # DeepReviewer Fast mode has only the final review
        value = (getattr(review, "final", None) or {}).get("rating")
    return RewardScore(_clean(value), getattr(review, "decision", None))


def load_reward(
    cfg: RewardConfig, base_dir: str | Path = ".", store: Any = None, constrain: bool | None = None
) -> RewardModel:
    """The reward model; ``constrain`` is the reviewer's grammar setting (None: its auto)."""
    if cfg.kind == "function":
        assert cfg.function is not None  # validated by the config
        return FunctionReward(cfg.function, cfg.options, base_dir)
    return ReviewerReward(cfg.kind, cfg, store=store, constrain=constrain)


# -- a built-in heuristic for smoke runs -------------------------------------------------------
_STRUCTURE = [
    r"\\title\{",
    r"\\begin\{abstract\}",
    r"\\section\*?\{[^}]*Introduction",
    r"\\section\*?\{[^}]*Related",
    r"\\section\*?\{[^}]*Method",
    r"## Motivation",
    r"## Main Idea",
    r"## Experimental Setup",
]


def structure_reward(papers: Sequence[Any], length_scale: int = 2000, **_: Any) -> list[float]:
    """Heuristic reward in [0, 9]: one point per paper-structure marker present (title, abstract,
    Introduction, Related Work, Method, Motivation, Main Idea, Experimental Setup) plus up to one
    point for length (``length_scale`` characters of letters = 1). Not a quality measure: it only
    makes the loop's signal visible with a model too small to write papers."""
    out = []
    for paper in papers:
        text = paper.generated_text if hasattr(paper, "generated_text") else paper_text(paper)
        hits = sum(1 for pat in _STRUCTURE if re.search(pat, text))
        letters = sum(ch.isalpha() for ch in text)
        out.append(round(hits + min(1.0, letters / max(1, length_scale)), 4))
    return out
