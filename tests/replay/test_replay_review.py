"""`cycleresearcher review` against a server that replays real reviewer outputs: DeepReviewer Fast /
Standard / Best from the fixtures (compared with the scores read by eye in expected.json), and
CycleReviewer from our own outputs in its two formats (tests/data/replay/)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from support.replay import (
    CYCLEREVIEWER,
    CYCLEREVIEWER_PRO,
    DEEPREVIEWER,
    RESEARCHER,
    references_file,
)

SCORES = ("rating", "soundness", "presentation", "contribution", "confidence")
GRAMMAR_KEYS = {"grammar", "structured_outputs", "guided_grammar", "ebnf"}


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def review(replay, files, out, *extra, code=0):
    result = cli("review", *files, "--base-url", replay.url, "--engine", "openai", "-o", out, *extra)
    assert result.exit_code == code, result.output
    return result


def reviews_in(run):
    return [json.loads(p.read_text()) for p in sorted((run / "reviews").glob("*.json"))]


def expected(fixtures_dir):
    return json.loads((fixtures_dir / "deepreviewer" / "expected.json").read_text())


def words(text):
    return text.split()


def human_paper(fixtures_dir, i):
    return fixtures_dir / "detect" / f"human_paper_{i:03d}.txt"


def research_run(replay, fixtures_dir, tmp_path, record=1):
    refs = references_file(fixtures_dir, record, tmp_path)
    result = cli(
        "research", "generate", refs, "--engine", "openai", "--base-url", replay.url,
        "--model", RESEARCHER, "--no-pdf", "-o", tmp_path / "research",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    replay.reset()
    return tmp_path / "research"


# -- CycleReviewer (our own outputs: no raw text of the model is public) ---------------------------


@pytest.mark.parametrize(
    ("model", "fmt", "ratings", "decision", "means"),
    [
        (CYCLEREVIEWER, "cyclereviewer-a", [6, 8, 10, 3], "Accept", {"soundness": 3.0, "presentation": 3.25}),
        (
            CYCLEREVIEWER_PRO,
            "cyclereviewer-b",
            [5, 6, 3, 5],
            "Reject",
            {"soundness": 2.75, "contribution": 2.25},
        ),
    ],
    ids=["8B-format-A", "123B-format-B"],
)
def test_cyclereviewer_reviews_the_generated_paper(
    replay, fixtures_dir, tmp_path, model, fmt, ratings, decision, means
):
    research = research_run(replay, fixtures_dir, tmp_path)
    [paper] = [json.loads(p.read_text()) for p in (research / "papers").glob("*/paper.json")]
    result = review(replay, [research], tmp_path / "rev", "--model", model)

    [req] = replay.chats("cyclereviewer")
    body = req.body
    assert body["model"] == model and body["max_tokens"] == 7000  # upstream, not 256
    assert (body["temperature"], body["top_p"]) == (0.4, 0.95) and not GRAMMAR_KEYS & set(body)
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    assert len(system) == 859 and system.endswith("You need to fill out **4** review opinions.")
    assert paper["title"] in user and paper["abstract"][:200] in user and "\\section{Experiments}" in user

    [rec] = reviews_in(tmp_path / "rev")
    assert rec["paper_id"] == paper["id"] and rec["title"] == paper["title"] and rec["model"] == model
    r = rec["review"]
    assert r["format"] == fmt and r["decision"] == decision and not r["truncated"]
    assert [op["rating"] for op in r["reviewers"]] == ratings  # 10 stays 10
    assert r["avg_rating"] == sum(ratings) / 4
    assert (r["min_rating"], r["max_rating"]) == (min(ratings), max(ratings))
    for key, value in means.items():
        assert r["final"][key] == value, key
    assert r["reviewers"][0]["summary"].startswith("The ")
    assert r["meta_review"] and r["warnings"] == []
    # what the command prints
    avg = f"{sum(ratings) / 4:g}"
    assert f"Decision: {decision}" in result.output
    assert f"rating avg {avg} / min {min(ratings)} / max {max(ratings)} over 4 reviewer(s)" in result.output
    md = (tmp_path / "rev" / "reviews" / f"{paper['id']}.md").read_text()
    assert paper["title"] in md and decision in md


# -- DeepReviewer: the released model's own outputs -------------------------------------------------


@pytest.mark.parametrize("mode", ["fast", "standard"])
def test_deepreviewer_fast_and_standard(replay, fixtures_dir, tmp_path, mode):
    want = expected(fixtures_dir)
    files = [human_paper(fixtures_dir, i) for i in (1, 2)]
    result = review(
        replay, files, tmp_path / "rev", "--reviewer", "deepreviewer", "--mode", mode, "--model", DEEPREVIEWER
    )

    reqs = replay.chats(f"deepreviewer-{mode}")
    assert sorted(r.replayed[1] for r in reqs) == [1, 2]
    system = "Your thinking mode is Fast Mode." if mode == "fast" else "simulating 4 different reviewers"
    for req in reqs:
        assert req.body["max_tokens"] == 35000 and req.body["model"] == DEEPREVIEWER
        assert system in req.body["messages"][0]["content"] and not GRAMMAR_KEYS & set(req.body)
        number = req.replayed[1]
        assert words(req.body["messages"][1]["content"]) == words(
            human_paper(fixtures_dir, number).read_text()
        )

    records = {rec["source"]: rec for rec in reviews_in(tmp_path / "rev")}
    truth = json.loads((fixtures_dir / "deepreviewer" / "deepreview_sample_ground_truth.json").read_text())
    for i in (1, 2):
        rec = records[str(human_paper(fixtures_dir, i))]
        exp = want[f"deepreviewer_{mode}_{i:03d}.txt"]
        r = rec["review"]
        assert rec["mode"] == mode and r["decision"] == exp["final_review"]["decision"]
        assert rec["title"] == truth[i - 1]["title"]  # \title's argument, not the raw first line
        for key in SCORES:
            assert r["final"][key] == exp["final_review"][key], key
        sims = exp["simulated_reviewers"]
        assert [[op[k] for k in SCORES] for op in r["reviewers"]] == [[s[k] for k in SCORES] for s in sims]
        if sims:  # the invariant of every real multi-reviewer output
            mean = sum(s["rating"] for s in sims) / len(sims)
            assert r["avg_rating"] == mean and round(mean, 2) == r["final"]["rating"]
            assert (r["min_rating"], r["max_rating"]) == (
                min(s["rating"] for s in sims),
                max(s["rating"] for s in sims),
            )
        assert f"Decision: {exp['final_review']['decision']}" in result.output
        if not sims:  # Fast mode: the line shows the final rating, not an empty average
            assert (
                f"final rating {exp['final_review']['rating']:g} (no per-reviewer ratings)" in result.output
            )


def test_deepreviewer_standard_with_three_reviewers(replay, fixtures_dir, tmp_path):
    """--reviewers 3 reaches the prompt; standard_004 is a real 3-reviewer output (title unknown:
    the server is told which paper it answers for)."""
    replay.default_paper = 4
    paper = tmp_path / "paper.tex"
    paper.write_text(
        "\\title{A paper the fixtures hold no text of}\n\n\\begin{abstract}Short.\\end{abstract}\n"
    )
    review(
        replay,
        [paper],
        tmp_path / "rev",
        "--reviewer",
        "deepreviewer",
        "--mode",
        "standard",
        "--reviewers",
        "3",
        "--model",
        DEEPREVIEWER,
    )
    [req] = replay.chats("deepreviewer-standard")
    assert "simulating 3 different reviewers" in req.body["messages"][0]["content"]
    exp = expected(fixtures_dir)["deepreviewer_standard_004.txt"]
    [rec] = reviews_in(tmp_path / "rev")
    assert [op["rating"] for op in rec["review"]["reviewers"]] == [
        s["rating"] for s in exp["simulated_reviewers"]
    ]
    assert rec["review"]["final"]["rating"] == exp["final_review"]["rating"] == 5.67


@pytest.mark.parametrize("i", [1, 2])
def test_deepreviewer_best_with_the_recorded_retrieval_service(replay, fixtures_dir, tmp_path, i):
    """Best mode as the authors ran it: their prompt variant, an OpenScholar-style service (here the
    replay's /batch_ask answering with the recorded retrieval); turn 2 is then the recorded user
    message byte for byte."""
    meta = json.loads((fixtures_dir / "deepreviewer" / f"deepreviewer_best_meta_{i:03d}.json").read_text())
    step1 = (fixtures_dir / "deepreviewer" / f"deepreviewer_best_step1_{i:03d}.txt").read_text()
    qa = (fixtures_dir / "deepreviewer" / f"deepreviewer_best_qa_input_{i:03d}.txt").read_text()
    paper = human_paper(fixtures_dir, i)
    review(
        replay, [paper], tmp_path / "rev", "--reviewer", "deepreviewer", "--mode", "best",
        "--best-variant", "authors", "--retriever", replay.root, "--model", DEEPREVIEWER,
    )  # fmt: skip

    [turn1] = replay.chats("deepreviewer-best1")
    [turn2] = replay.chats("deepreviewer-best2")
    [ask] = [r for r in replay.requests if r.path == "/batch_ask"]
    assert turn1.body["messages"][0]["content"] == meta["system_prompt_used"]
    # the paper as the authors sent it; our .txt reader drops trailing spaces and extra blank lines
    assert words(turn1.body["messages"][1]["content"]) == words(paper.read_text())
    assert ask.body == {"questions": meta["questions"]}
    chat = turn2.body["messages"]
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "user"]
    assert chat[2]["content"] == step1
    assert chat[3]["content"] == qa  # the exact turn-2 message the model saw
    assert turn1.body["max_tokens"] == turn2.body["max_tokens"] == 35000

    exp = expected(fixtures_dir)
    [rec] = reviews_in(tmp_path / "rev")
    r = rec["review"]
    assert r["questions"] == exp[f"deepreviewer_best_step1_{i:03d}.txt"]["questions"] == meta["questions"]
    final = exp[f"deepreviewer_best_{i:03d}.txt"]
    assert r["decision"] == final["final_review"]["decision"]
    assert {k: r["final"][k] for k in SCORES} == {k: final["final_review"][k] for k in SCORES}
    assert [op["rating"] for op in r["reviewers"]] == [s["rating"] for s in final["simulated_reviewers"]]
    assert r["blocks"] == ["questions", "analysis", "simreviewers", "verification", "review"]
    assert [q["output"] for q in rec["retrieval"]] == [x["output"] for x in meta["retrieval"]]
    assert len(rec["turns"]) == 2 and rec["turns"][0] == step1


def test_deepreviewer_best_offline_without_retrieval(replay, fixtures_dir, tmp_path):
    """No retrieval service: every answer is 'No information retrieved.', the review still comes."""
    review(
        replay, [human_paper(fixtures_dir, 2)], tmp_path / "rev", "--reviewer", "deepreviewer",
        "--mode", "best", "--retriever", "none", "--model", DEEPREVIEWER,
    )  # fmt: skip
    [turn1] = replay.chats("deepreviewer-best1")
    assert turn1.body["messages"][0]["content"].startswith("You are an expert academic reviewer")
    [turn2] = replay.chats("deepreviewer-best2")
    qa = turn2.body["messages"][3]["content"]
    assert qa.count("No information retrieved.") == 6 and qa.count("## Question ") == 3
    assert not [r for r in replay.requests if r.path == "/batch_ask"]
    [rec] = reviews_in(tmp_path / "rev")
    assert rec["review"]["decision"] == "Reject" and rec["review"]["final"]["rating"] == 4.5
    assert any("No information retrieved" in w for w in rec["review"]["warnings"])


@pytest.mark.slow  # loads the MiniLM embedding model (~45 s on 2 busy cores)
def test_deepreviewer_best_offline_retriever_answers_from_the_paper(replay, fixtures_dir, tmp_path):
    pytest.importorskip("sentence_transformers", reason="the retrieval extra is not installed")
    paper = human_paper(fixtures_dir, 1)
    review(
        replay, [paper], tmp_path / "rev", "--reviewer", "deepreviewer", "--mode", "best",
        "--retriever", "local", "--model", DEEPREVIEWER,
    )  # fmt: skip
    [turn2] = replay.chats("deepreviewer-best2")
    qa = turn2.body["messages"][3]["content"]
    assert "No information retrieved." not in qa and qa.count("### Passage") == 3
    assert " **--**Text: " in qa  # the service's separator, as the model was trained on
    [rec] = reviews_in(tmp_path / "rev")
    assert rec["review"]["final"]["rating"] == 5.5 and len(rec["retrieval"]) == 3
