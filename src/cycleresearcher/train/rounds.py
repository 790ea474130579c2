"""The cycle: per round, sample k papers per reference set from the current policy, reward them,
pair best against worst, train (SimPO + NLL or DPO), save the merged checkpoint, write the report;
round r+1 samples from round r's checkpoint.

Resume: everything a round computes is committed to the run store (``run.sqlite`` in the output
dir) as it arrives: samples (engine requests), rewards, margins and the training result. A
killed round re-runs only what is missing; a round with a ``report.json`` is done and skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engines.base import Engine
from ..store import RunStore
from .config import CycleConfig
from .margins import PreferenceExample, prepare
from .pairs import ScoredSample, build_pairs
from .report import mean_or_none, write_json, write_summary
from .rewards import RewardModel, load_reward
from .sampling import PromptSet, load_prompt_sets, sample_round

Log = Callable[[str], None]
Parse = Callable[[str], Any]


@dataclass
class Hooks:
    """Seams for the parts other stages own (defaults: the real ones)."""

    parse: Parse | None = None  # text -> Paper
    make_engine: Callable[[str, CycleConfig], Engine] | None = None  # (policy dir, cfg) -> sampling engine
    make_reward: Callable[[CycleConfig, RunStore], RewardModel] | None = None  # (cfg, store) -> reward


def base_policy_dir(cfg: CycleConfig) -> str:
    """Round 1's policy as a transformers dir (a GGUF, incl. the embedded model, is converted once)."""
    from ..hfmodels import hf_model_dir
    from ..models import resolve_model

    local = cfg.path(cfg.policy.model)
    model = str(local) if cfg.policy.model not in ("embedded",) and local.exists() else cfg.policy.model
    return hf_model_dir(resolve_model(model, "researcher"))


def _default_engine(policy: str, cfg: CycleConfig) -> Engine:
    from ..models.session import create_engine

    return create_engine(
        model=policy, engine=cfg.sampling.engine, notice=False, **cfg.sampling.engine_options
    )


def _default_reward(cfg: CycleConfig, store: RunStore) -> RewardModel:
    return load_reward(cfg.reward, cfg.base_dir, store=store, constrain=cfg.constrain)


def _default_parse(text: str) -> Any:
    from ..paper import parse_paper

    return parse_paper(text)


def _parsed(paper: Any) -> bool:
    """A paper failed to parse when it has neither a title nor any LaTeX."""
    return bool(getattr(paper, "title", None) or getattr(paper, "latex", None))


def score_round(
    texts: dict[str, list[str | None]],
    cfg: CycleConfig,
    round_idx: int,
    store: RunStore,
    parse: Parse,
    make_reward: Callable[[], RewardModel],
) -> dict[str, list[ScoredSample]]:
    """Reward every sampled paper (stored per paper: a resumed round rescores nothing)."""
    kind = "train.score"
    todo: list[tuple[str, int, Any]] = []
    for set_id, items in texts.items():
        for i, text in enumerate(items):
            key = f"{round_idx}:{set_id}:{i}"
            if store.get(kind, key) is not None:
                continue
            if text is None:
                store.put(kind, key, {"reward": None, "status": "generation_failed", "decision": None})
                continue
            paper = parse(text)
            if cfg.pairing.require_parse and not _parsed(paper):
                store.put(kind, key, {"reward": None, "status": "unparsable", "decision": None})
                continue
            todo.append((key, i, paper))
    if todo:
        reward = make_reward()
        try:
            scores = reward.score([p for _, _, p in todo])
        finally:
            reward.close()
        for (key, _, paper), score in zip(todo, scores, strict=False):
            status = "ok" if score.reward is not None else "unrated"
            store.put(
                kind,
                key,
                {
                    "reward": score.reward,
                    "status": status,
                    "decision": score.decision,
                    "parsed": _parsed(paper),
                },
            )
    groups: dict[str, list[ScoredSample]] = {}
    for set_id, items in texts.items():
        for i, text in enumerate(items):
            rec = store.get(kind, f"{round_idx}:{set_id}:{i}") or {}
            if text is None:  # nothing to train on
                continue
            groups.setdefault(set_id, []).append(
                ScoredSample(set_id, i, text, rec.get("reward"), rec.get("status", "ok"), rec.get("decision"))
            )
    return groups


def _reward_stats(store: RunStore, round_idx: int, pairs: list[Any]) -> dict[str, Any]:
    recs = [d for k, d in store.items("train.score") if k.startswith(f"{round_idx}:")]
    values = [d["reward"] for d in recs if d.get("reward") is not None]
    return {
        "mean": mean_or_none(values),
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "scored": len(values),
        "chosen_mean": mean_or_none([p.chosen_reward for p in pairs]),
        "rejected_mean": mean_or_none([p.rejected_reward for p in pairs]),
        "per_paper": {
            k.split(":", 1)[1]: d.get("reward")
            for k, d in store.items("train.score")
            if k.startswith(f"{round_idx}:")
        },
    }


def run_round(
    round_idx: int,
    policy: str,
    sets: list[PromptSet],
    cfg: CycleConfig,
    store: RunStore,
    hooks: Hooks,
    log: Log,
) -> dict[str, Any]:
    out = Path(cfg.output_dir)
    rd = out / f"round_{round_idx}"
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    make_engine = hooks.make_engine or _default_engine
    texts = sample_round(sets, cfg, round_idx, policy, store, lambda: make_engine(policy, cfg))
    timings["sampling_s"] = round(time.perf_counter() - t0, 2)
    log(f"round {round_idx}: sampled {sum(len(v) for v in texts.values())} papers from {policy}")

    t0 = time.perf_counter()
    make_reward = hooks.make_reward or _default_reward
    groups = score_round(
        texts, cfg, round_idx, store, hooks.parse or _default_parse, lambda: make_reward(cfg, store)
    )
    timings["reward_s"] = round(time.perf_counter() - t0, 2)
    pairing = build_pairs(
        groups, k=cfg.sampling.k, min_gap=cfg.pairing.min_gap, failed_reward=cfg.pairing.failed_reward
    )
    statuses = [d for k, d in store.items("train.score") if k.startswith(f"{round_idx}:")]
    decided = [d["decision"] for d in statuses if d.get("decision") in ("Accept", "Reject")]
    prompts = {s.set_id: s.messages for s in sets}
    examples = [
        PreferenceExample(p.set_id, prompts[p.set_id], p.chosen.text, p.rejected.text) for p in pairing.pairs
    ]
    log(f"round {round_idx}: {len(pairing.pairs)} pairs, skipped {pairing.skipped_counts() or 'none'}")

    report: dict[str, Any] = {
        "round": round_idx,
        "policy": policy,
        "checkpoint": policy,
        "reference_sets": len(sets),
        "k": cfg.sampling.k,
        "samples": sum(len(v) for v in texts.values()),
        "rewards": _reward_stats(store, round_idx, pairing.pairs),
        "unparsable": sorted(
            k.split(":", 1)[1]
            for k, d in store.items("train.score")
            if k.startswith(f"{round_idx}:") and (d["status"] == "unparsable" or d.get("parsed") is False)
        ),
        "unrated": sum(d["status"] == "unrated" for d in statuses),
        "generation_failed": sum(d["status"] == "generation_failed" for d in statuses),
        "accepted_rate": round(decided.count("Accept") / len(decided), 6) if decided else None,
        "pairs": 0,
        "pair_details": [p.to_dict() for p in pairing.pairs],
        "skipped": pairing.skipped_counts(),
        "reward_margin": mean_or_none([p.gap for p in pairing.pairs]),
        "truncated_pairs": 0,
        "dropped_pairs": [],
        "max_length": cfg.training.max_length,
        "loss_type": cfg.loss.type,
        "loss": None,
        "loss_history": [],
        "margin_before": None,
        "margin_after": None,
        "timings": timings,
    }
    if examples:
        report.update(_train_round(round_idx, policy, examples, cfg, store, rd, timings, log))
    else:
        log(f"round {round_idx}: no pairs to train on; the policy stays {policy}")
    write_json(rd / "report.json", report)
    return report


def _train_round(
    round_idx: int,
    policy: str,
    examples: list[PreferenceExample],
    cfg: CycleConfig,
    store: RunStore,
    rd: Path,
    timings: dict[str, float],
    log: Log,
) -> dict[str, Any]:
    from ..hfmodels import load_tokenizer

    tok = load_tokenizer(policy, "train")
    t = cfg.training
    prepared = prepare(tok, examples, t.max_length, t.min_completion_tokens)
    result: dict[str, Any] = {
        "pairs": len(prepared.kept),
        "truncated_pairs": prepared.truncated,
        "dropped_pairs": prepared.dropped,
    }
    if prepared.dropped:
        log(
            f"round {round_idx}: dropped {len(prepared.dropped)} pairs whose prompt fills training.max_length={t.max_length}"
        )
    if not prepared.kept:
        return result
    from .margins import logprob_margins

    if t.compute_margins:
        t0 = time.perf_counter()
        before = store.get("train.margin", f"{round_idx}:before")
        if before is None:
            before = {"margins": logprob_margins(policy, prepared.encoded, t.margin_device)}
            store.put("train.margin", f"{round_idx}:before", before)
        result["margin_before"] = mean_or_none(before["margins"])
        timings["margin_before_s"] = round(time.perf_counter() - t0, 2)

    ckpt = rd / "checkpoint"
    trained = store.get("train.result", str(round_idx))
    if trained is None or not (ckpt / "config.json").exists():
        from .simpo import TrainJob, launch_accelerate, run_job

        t0 = time.perf_counter()
        job = TrainJob(
            policy_dir=policy,
            checkpoint_dir=str(ckpt),
            work_dir=str(rd / "work"),
            examples=[ex.to_trl() for ex in prepared.kept],
            loss=vars(cfg.loss).copy(),
            training=vars(t).copy(),
            seed=cfg.seed + round_idx,
        )
        log(
            f"round {round_idx}: training {cfg.loss.type} on {len(prepared.kept)} pairs ({'LoRA' if t.lora else 'full'})"
        )
        if t.launcher == "accelerate":
            rd.joinpath("work").mkdir(parents=True, exist_ok=True)
            job_path = rd / "work" / "job.json"
            job.save(job_path)
            res = launch_accelerate(job_path, str(cfg.path(t.accelerate_config or "")))
        else:
            res = run_job(job)
        trained = res.to_dict()
        store.put("train.result", str(round_idx), trained)
        timings["training_s"] = round(time.perf_counter() - t0, 2)
    result.update(
        loss=trained["loss"],
        loss_history=trained["loss_history"],
        train_steps=trained["steps"],
        checkpoint=str(ckpt),
    )

    if t.compute_margins:
        t0 = time.perf_counter()
        after = store.get("train.margin", f"{round_idx}:after")
        if after is None:
            after = {"margins": logprob_margins(str(ckpt), prepared.encoded, t.margin_device)}
            store.put("train.margin", f"{round_idx}:after", after)
        result["margin_after"] = mean_or_none(after["margins"])
        timings["margin_after_s"] = round(time.perf_counter() - t0, 2)
    return result


def run_cycle(
    cfg: CycleConfig, hooks: Hooks | None = None, log: Log = lambda _m: None
) -> list[dict[str, Any]]:
    """Run (or resume) every round; returns the round reports in order."""
    hooks = hooks or Hooks()
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    reports = []
    with RunStore(out) as store:
        store.set_meta("train.config", cfg.to_dict())
        sets = load_prompt_sets(cfg)
        policy: str | None = None
        for r in range(1, cfg.rounds + 1):
            done = out / f"round_{r}" / "report.json"
            if done.exists():
                import json

                report = json.loads(done.read_text(encoding="utf-8"))
                log(f"round {r}: already done (report.json found), skipping")
            else:
                if policy is None:
                    policy = base_policy_dir(cfg)
                report = run_round(r, policy, sets, cfg, store, hooks, log)
            reports.append(report)
            policy = report["checkpoint"]
        write_summary(out)
    return reports
