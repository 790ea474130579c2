"""Sampling k papers per reference set from the current policy, through the same engines and run
store as ``cycleresearcher research`` (a resumed round re-sends nothing that is stored).

The prompt of a set is exactly what the model is sampled with and later trained on: the
CycleResearcher system prompt + user turn (FORMATS.md §1), either rebuilt from a .bib file or
taken verbatim from a training record's ``messages[0:2]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import safejson
from ..engines.base import Batch, ChatRequest, Engine, GenerationResult, Message, SamplingParams
from ..engines.runner import run_requests
from ..errors import ConfigError, InputError
from ..store import RunStore, request_key
from .config import CycleConfig

STAGE = "train.sample"


@dataclass
class PromptSet:
    """One reference set and the exact chat prompt built from it."""

    set_id: str  # the file name (unique within the data folder)
    messages: list[Message]
    source: str


def _prompt_from_record(path: Path, data: dict[str, Any], topic: str | None) -> list[Message] | None:
    msgs = data.get("messages")
    if (
        isinstance(msgs, list)
        and len(msgs) >= 2
        and msgs[0].get("role") == "system"
        and msgs[1].get("role") == "user"
    ):
        return [{"role": m["role"], "content": m["content"]} for m in msgs[:2]]
    return None


def _prompt_from_references(path: Path, topic: str | None) -> list[Message]:
    from ..prompts.research import build_messages
    from ..references import load_references, render_references

    refset = load_references(path)
    if not refset.references:
        raise InputError(f"{path}: no references found; remove the file from data.references or fix it.")
    return build_messages(render_references(refset.references), topic=topic)


def load_prompt_sets(cfg: CycleConfig) -> list[PromptSet]:
    """Every .bib / .json file under ``data.references`` is one set (sorted by name)."""
    root = cfg.path(cfg.data.references)
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix.lower() in {".bib", ".json"} and p.is_file())
    else:
        raise ConfigError(f"data.references = '{cfg.data.references}': {root} does not exist.")
    if not files:
        raise ConfigError(f"data.references: no .bib or .json files in {root}.")
    if cfg.data.max_sets:
        files = files[: cfg.data.max_sets]
    sets = []
    for path in files:
        messages = None
        if path.suffix.lower() == ".json":
            try:
                data = safejson.loads(path.read_text(encoding="utf-8"), str(path))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path} is not valid JSON ({exc}); fix or remove it.") from exc
            if isinstance(data, dict):
                messages = _prompt_from_record(path, data, cfg.data.topic)
        if messages is None:
            messages = _prompt_from_references(path, cfg.data.topic)
        sets.append(PromptSet(set_id=path.name, messages=messages, source=str(path)))
    return sets


def sampling_params(cfg: CycleConfig, round_idx: int, policy: str | None = None) -> SamplingParams:
    """The policy's sampling settings; ``cfg.constrain`` adds the one-shot paper's grammar (auto:
    for every policy but a released CycleResearcher: a later round's checkpoint keeps the kind of
    the policy the cycle started from)."""
    from ..models.session import ModelSession

    # no engine is loaded here: an unfitted grammar needs none
    session = ModelSession(cfg.policy.model or policy, "researcher", constrain=cfg.constrain)
    s = cfg.sampling
    stop = s.stop
    if stop is None:
        from ..prompts.research import STOP_STRINGS

        stop = list(STOP_STRINGS)
    grammar, _ = session.grammar("researcher")
    return SamplingParams(
        temperature=s.temperature,
        top_p=s.top_p,
        max_tokens=s.max_tokens,
        stop=list(stop),
        n=s.k,
        seed=cfg.seed + round_idx,
        # a grammar holds every turn, so EOS then ends the finished paper (as in research generate)
        ignore_eos=s.ignore_eos and not grammar,
        grammar=grammar,
        grammar_optional=grammar is not None and session.grammar_optional(),
    )


def sample_round(
    sets: list[PromptSet],
    cfg: CycleConfig,
    round_idx: int,
    policy: str,
    store: RunStore,
    make_engine: Callable[[], Engine],
) -> dict[str, list[str | None]]:
    """k texts per set (None = a failed generation). The engine is only created when something is
    missing from the store, so a resumed round with all samples stored loads no model."""
    params = sampling_params(cfg, round_idx, policy)
    requests = [ChatRequest(messages=ps.messages, sampling=params, request_id=ps.set_id) for ps in sets]
    # the policy checkpoint is part of the key: round r+1 never reuses round r's samples
    keys = [request_key(STAGE, req, extra={"round": round_idx, "policy": policy}) for req in requests]
    engine: Engine | None = None
    try:
        if any(store.get_result(key) is None for key in keys):
            engine = make_engine()
        results = run_requests(engine or _NoEngine(), store, STAGE, requests, keys)
    finally:
        if engine is not None:
            engine.close()
    return {ps.set_id: _texts(res, cfg.sampling.k) for ps, res in zip(sets, results, strict=False)}


def _texts(result: GenerationResult, k: int) -> list[str | None]:
    if not result.ok:
        return [None] * k
    texts: list[str | None] = [c.text for c in result.completions[:k]]
    return texts + [None] * (k - len(texts))


class _NoEngine(Engine):
    """Stands in when every request is already stored (run_requests then never calls it)."""

    name = "none"

    def describe(self) -> dict[str, Any]:
        return {"engine": "none"}

    def _generate(self, batch: Batch) -> None:
        raise AssertionError("every sample was stored; nothing should be generated")
