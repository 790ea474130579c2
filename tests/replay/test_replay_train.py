"""The cycle's sampling, reward and pairing steps (train.sampling / train.rounds / train.pairs) on
replayed outputs: k = 3 papers sampled from one training record's prompt through the replay server
(three real 12B generations), rewarded by a reviewer served by the same server, paired best
against worst. Training itself needs a real policy and is covered by tests/test_train_round.py."""

from __future__ import annotations

import json
import shutil

import pytest

from cycleresearcher.engines import create_engine
from cycleresearcher.paper import parse_paper
from cycleresearcher.store import RunStore
from cycleresearcher.train.config import load_config
from cycleresearcher.train.pairs import build_pairs
from cycleresearcher.train.rewards import load_reward
from cycleresearcher.train.rounds import score_round
from cycleresearcher.train.sampling import load_prompt_sets, sample_round
from support.replay import CYCLEREVIEWER, DEEPREVIEWER, RESEARCHER, conversation, fenced, title_of

#: the k = 3 samples of record 1's prompt are the generations of records 4, 5 and 1 (by seed)
SAMPLES = [1, 4, 5]


def _config(tmp_path, fixtures_dir, replay, reward: str):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(fixtures_dir / "research" / "conversation_001.json", data / "set_a.json")  # tmp copy only
    path = tmp_path / "cycle.toml"
    path.write_text(
        f"""
rounds = 1
output_dir = "{tmp_path / "cycle"}"
seed = 0
[policy]
model = "{RESEARCHER}"
[data]
references = "data"
[sampling]
k = 3
engine = "openai"
engine_options = {{ base_url = "{replay.url}" }}
[reward]
{reward}
engine = "openai"
base_url = "{replay.url}"
"""
    )
    return load_config(path)


def _round(cfg, fixtures_dir, replay):
    replay.samples = {1: SAMPLES}
    sets = load_prompt_sets(cfg)
    assert [s.set_id for s in sets] == ["set_a.json"]
    assert sets[0].messages == conversation(fixtures_dir, 1)[:2]  # the record's prompt verbatim
    with RunStore(cfg.path(cfg.output_dir)) as store:

        def engine():
            return create_engine(
                cfg.policy.model, cfg.sampling.engine, notice=False, **cfg.sampling.engine_options
            )

        texts = sample_round(sets, cfg, 1, cfg.policy.model, store, engine)
        groups = score_round(
            texts, cfg, 1, store, parse_paper, lambda: load_reward(cfg.reward, cfg.base_dir, store)
        )
        scores = dict(store.items("train.score"))
    return texts, groups, scores


def _titles(fixtures_dir):
    return [title_of(fenced(conversation(fixtures_dir, i)[2]["content"], "latex")) for i in range(1, 7)]


def test_deepreviewer_reward_pairs_the_best_real_paper_against_the_worst(replay, fixtures_dir, tmp_path):
    cfg = _config(
        tmp_path, fixtures_dir, replay,
        f'kind = "deepreviewer"\nmodel = "{DEEPREVIEWER}"\noptions = {{ mode = "standard", reviewer_num = 4 }}',
    )  # fmt: skip
    titles = _titles(fixtures_dir)
    # the reviewer's real Standard-mode outputs 1, 2, 3 answer for the papers of records 4, 5, 1
    replay.papers = {titles[3]: 1, titles[4]: 2, titles[0]: 3}
    texts, groups, scores = _round(cfg, fixtures_dir, replay)

    sampled = replay.chats("research")
    assert sorted(r.body["seed"] for r in sampled) == [1, 2, 3]  # seed + round, one request per sample
    for r in sampled:
        assert r.body["max_tokens"] == 19000 and r.body["ignore_eos"] is True and r.body["n"] == 1
        assert r.body["stop"] == ["\\clearpage", "\\clear", "clearpage"]
    # sample k has seed 1 + k: records 4, 5, 1
    assert [parse_paper(t).title for t in texts["set_a.json"]] == [titles[3], titles[4], titles[0]]

    reviews = replay.chats("deepreviewer-standard")
    assert len(reviews) == 3 and {r.body["max_tokens"] for r in reviews} == {35000}
    assert all("simulating 4 different reviewers" in r.body["messages"][0]["content"] for r in reviews)
    expected = json.loads((fixtures_dir / "deepreviewer" / "expected.json").read_text())

    def mean_rating(i):  # reward = mean rating of the simulated reviewers
        sims = expected[f"deepreviewer_standard_{i:03d}.txt"]["simulated_reviewers"]
        return sum(s["rating"] for s in sims) / len(sims)

    rewards = [s.reward for s in groups["set_a.json"]]
    assert rewards == [mean_rating(1), mean_rating(2), mean_rating(3)] == [5.75, 5.25, 5.0]
    assert [s.decision for s in groups["set_a.json"]] == ["Accept", "Reject", "Reject"]
    assert {d["status"] for d in scores.values()} == {"ok"}

    pairing = build_pairs(groups, k=3, min_gap=cfg.pairing.min_gap, failed_reward=cfg.pairing.failed_reward)
    [pair] = pairing.pairs
    assert (pair.chosen.index, pair.rejected.index) == (0, 2)
    assert (pair.chosen_reward, pair.rejected_reward) == (5.75, 5.0) and pair.gap == pytest.approx(0.75)
    assert parse_paper(pair.chosen.text).title == titles[3]


def test_cyclereviewer_reward_ties_and_skips_the_set(replay, fixtures_dir, tmp_path):
    """CycleReviewer (our format-A output) rates each of the three papers 6, 8, 10, 3: reward 6.75
    for all, a tie, so the set gives no pair."""
    cfg = _config(tmp_path, fixtures_dir, replay, f'kind = "cyclereviewer"\nmodel = "{CYCLEREVIEWER}"')
    _, groups, _ = _round(cfg, fixtures_dir, replay)
    reviews = replay.chats("cyclereviewer")
    assert len(reviews) == 3 and {r.body["max_tokens"] for r in reviews} == {7000}
    # the reviewer reads each sampled paper's LaTeX
    assert all("\\begin{abstract}" in r.body["messages"][1]["content"] for r in reviews)
    assert [(s.reward, s.decision) for s in groups["set_a.json"]] == [(6.75, "Accept")] * 3
    pairing = build_pairs(groups, k=3, min_gap=0.0, failed_reward=0.0)
    assert pairing.pairs == [] and pairing.skipped_counts() == {"tie": 1}
