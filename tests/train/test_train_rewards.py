"""Rewards: user functions, the built-in heuristic, the reviewer reward (mean parsed rating), and the
margin / truncation rule of the training pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from cycleresearcher.errors import ConfigError, InputError
from cycleresearcher.paper import parse_paper
from cycleresearcher.review.records import Review, ReviewerOpinion
from cycleresearcher.train.config import RewardConfig
from cycleresearcher.train.rewards import FunctionReward, load_function, review_score, structure_reward

DATA = Path(__file__).parents[1] / "data" / "train"

PAPER = r"""## Motivation
Sparse graphs waste compute.
## Main Idea
Route messages only along edges that matter.
```latex
\title{Sparse Routing for Message Passing}
\begin{abstract}We route messages along a learned subset of edges.\end{abstract}
\section{Introduction} Graphs are large.
\section{Related Work} Prior work prunes nodes.
\section{Method} We learn a gate per edge.
```
"""


def test_function_reward_from_a_file_and_from_a_module():
    fn = FunctionReward(str(DATA / "reward_fn.py") + ":vowel_reward", {"scale": 1.0})
    scores = fn.score([parse_paper("aeiou xyz"), parse_paper("")])
    assert scores[0].reward == pytest.approx(5 / 8) and scores[1].reward is None
    assert load_function("cycleresearcher.train.rewards:structure_reward") is structure_reward
    with pytest.raises(ConfigError, match="no function"):
        load_function("cycleresearcher.train.rewards:nope")
    with pytest.raises(ConfigError, match="file not found"):
        load_function("missing.py:f", DATA)


def test_a_reward_function_must_return_one_number_per_paper(tmp_path):
    (tmp_path / "bad.py").write_text(
        "def short(papers, **kw):\n    return [1.0]\n\ndef words(papers, **kw):\n    return ['x' for _ in papers]\n"
    )
    with pytest.raises(InputError, match="1 rewards for 2 papers"):
        FunctionReward("bad.py:short", base_dir=tmp_path).score(["a", "b"])
    with pytest.raises(InputError, match="return a number"):
        FunctionReward("bad.py:words", base_dir=tmp_path).score(["a"])


def test_structure_reward_counts_paper_structure():
    full, empty = structure_reward([parse_paper(PAPER), parse_paper("just some words")])
    assert 7 <= full <= 8  # title, abstract, intro, related, method, motivation, main idea (+ length)
    assert 0 < empty < 1


def test_review_score_is_the_mean_of_parsed_ratings():
    review = Review(
        reviewers=[ReviewerOpinion(rating=3), ReviewerOpinion(rating=None), ReviewerOpinion(rating=10)],
        decision="Accept",
    )
    score = review_score(review)
    assert (score.reward, score.decision) == (6.5, "Accept")
    assert review_score(Review()).reward is None
    fast = Review(decision="Reject")
    fast.final["rating"] = 4.25
    assert review_score(fast).reward == 4.25


def test_truncation_and_dropping_follow_max_length(embedded_hf_dir):
    from transformers import AutoTokenizer

    from cycleresearcher.train.margins import PreferenceExample, encode_example, prepare

    tok = AutoTokenizer.from_pretrained(embedded_hf_dir)
    prompt = [
        {"role": "system", "content": "Write a paper."},
        {"role": "user", "content": "References: none."},
    ]
    ex = PreferenceExample("s", prompt, "word " * 200, "short answer")
    full = encode_example(tok, ex, 10_000, 1)
    assert not full.truncated
    n_prompt = len(full.prompt_ids)
    cut = encode_example(tok, ex, n_prompt + 50, 1)
    assert cut.truncated and len(cut.chosen_ids) == 50 and cut.rejected_ids == full.rejected_ids
    assert cut.chosen_ids == full.chosen_ids[:50]
    assert encode_example(tok, ex, n_prompt + 5, 16) is None
    prepared = prepare(tok, [ex, ex], n_prompt + 5, 16)
    assert prepared.kept == [] and prepared.dropped == ["s", "s"]


@pytest.mark.slow
def test_cyclereviewer_reward_with_the_embedded_model(tmp_path):
    from cycleresearcher.store import RunStore
    from cycleresearcher.train.rewards import load_reward

    cfg = RewardConfig(kind="cyclereviewer", model="embedded", engine="llamacpp", options={"max_tokens": 24})
    with RunStore(tmp_path) as store:
        reward = load_reward(cfg, store=store)
        try:
            scores = reward.score([parse_paper(PAPER), parse_paper(PAPER.replace("Sparse", "Dense"))])
        finally:
            reward.close()
        assert len(scores) == 2
        # the 135M stand-in rarely writes a rating; whatever it wrote, each reward is the mean
        # rating of the review stored for that paper (None when it has none), range-checked
        stored = [Review.from_dict(rec["review"]) for _, rec in store.items("review")]
        assert len(stored) == 2
        expected = sorted((review_score(r).reward for r in stored), key=lambda x: (x is None, x))
        assert sorted((s.reward for s in scores), key=lambda x: (x is None, x)) == expected
        assert all(s.reward is None or 1 <= s.reward <= 10 for s in scores)
        rows = store.request_rows("review")
        assert len(rows) == 2 and all(r["status"] == "done" for r in rows)


def test_reviewer_engine_options_reach_that_engine_and_are_checked_there():
    """``reward.engine_options`` go to the reviewer's engine (checked against its signature, as
    ``--engine-opt`` is), not to each review call; both refusals come before any model or cluster."""
    from cycleresearcher.train.config import from_dict
    from cycleresearcher.train.rewards import load_reward

    for options, message in (({"workerz": 2}, "Did you mean 'workers'"), ({"workers": 0}, "workers must be >= 1")):
        cfg = RewardConfig(kind="cyclereviewer", model="embedded", engine="ray", engine_options=options)
        reward = load_reward(cfg)
        with pytest.raises(InputError, match=message):
            reward.score([parse_paper(PAPER)])
    base = {"data": {"references": str(DATA / "sets")}}
    with pytest.raises(ConfigError, match="keep each key in one"):
        from_dict({**base, "reward": {"options": {"n_ctx": 1}, "engine_options": {"n_ctx": 2}}})
    with pytest.raises(ConfigError, match="for a reviewer reward"):
        from_dict({**base, "reward": {"kind": "function", "function": "m:f", "engine_options": {"a": 1}}})
