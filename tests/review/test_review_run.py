"""Review orchestration: inputs, context fitting, CycleReviewer / DeepReviewer (all modes), the
batch runner with the SQLite run store (resume), exports and the CLI.

The engine is the scripted FakeEngine answering with our own realistic outputs
(tests/data/review_run/); the real-engine runs are in test_review_run_real.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.engines.base import Engine
from cycleresearcher.errors import CycleResearcherError, InputError
from cycleresearcher.paper.readers import read_document
from cycleresearcher.review.context import fit_paper, to_paper_input
from cycleresearcher.review.cyclereviewer import CycleReviewer, system_prompt
from cycleresearcher.review.deepreviewer import DeepReviewer, build_qa_message
from cycleresearcher.review.records import Review
from cycleresearcher.review.retrieval import NoRetriever, RetrievalError, RetrievalResult, Retriever
from cycleresearcher.review.runner import RECORD_KIND, review_files
from cycleresearcher.store import RunStore
from support import FAKE_ENGINE
from support.fake_engine import FakeEngine


@pytest.fixture(scope="module")
def rdir(data_dir: Path) -> Path:
    return data_dir / "review_run"


@pytest.fixture(scope="module")
def outputs(rdir: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in rdir.glob("*.txt")}


def deep_script(outputs: dict[str, str], mode: str = "standard"):
    """Answer like DeepReviewer: turn 1 / turn 2 in Best mode, one output otherwise."""

    def script(request, _k):
        if mode != "best":
            return outputs[f"own_deep_{mode}"]
        return (
            outputs["own_deep_best_turn1"] if len(request.messages) == 2 else outputs["own_deep_best_turn2"]
        )

    return script


# -- inputs -----------------------------------------------------------------------------------


def test_every_input_kind_becomes_the_same_kind_of_paper(rdir):
    tex = rdir / "papers" / "graphmix.tex"
    doc = read_document(tex)
    paper_json = json.loads((rdir / "papers" / "paper.json").read_text())
    from_path, from_pathobj, from_doc = to_paper_input(str(tex)), to_paper_input(tex), to_paper_input(doc)
    assert from_path.text == from_pathobj.text == from_doc.text == doc.text
    assert from_path.id == from_doc.id and from_path.id.startswith("graphmix-")
    assert from_path.title.startswith("GraphMix")
    assert "a comment that must not reach the reviewer" not in from_path.text
    pj = to_paper_input(paper_json)
    assert pj.title == "Adaptive Dropout Schedules" and "\\section{Experiments}" in pj.text
    assert to_paper_input({**paper_json, "id": "p42"}).id == "p42"
    txt = to_paper_input("\\title{Inline}\nA paper given as text.")
    assert txt.title == "Inline" and txt.id.startswith("paper-")
    assert to_paper_input(txt.text).id == txt.id  # content-stable ids
    with pytest.raises(InputError):
        to_paper_input("   ")
    with pytest.raises(InputError):
        to_paper_input(3.5)


# -- context fitting ---------------------------------------------------------------------------


def _long_paper(n_sections: int = 30) -> str:
    head = "\\title{A Long Paper}\n\n\\begin{abstract}\nWe study long inputs.\n\\end{abstract}"
    body = [
        f"\\section{{Section {i}}}\n" + " ".join(f"word{i}_{j}" for j in range(60)) for i in range(n_sections)
    ]
    return "\n\n".join([head, *body])


def test_a_paper_that_fits_is_sent_unchanged():
    eng = FakeEngine(context_length=100_000)
    fit = fit_paper(eng, "sys", "short paper", max_tokens=100, context_length=100_000)
    assert fit.text == "short paper" and not fit.truncated and fit.warnings == [] and fit.max_tokens == 100


def test_a_long_paper_keeps_its_head_and_loses_its_tail():
    eng = FakeEngine()
    text = _long_paper()
    fit = fit_paper(eng, "system prompt", text, max_tokens=300, context_length=1200)
    assert fit.truncated and fit.paper_tokens > fit.kept_tokens
    assert text.startswith(fit.text)  # a prefix: title, abstract, sections in order
    assert "\\title{A Long Paper}" in fit.text and "\\begin{abstract}" in fit.text
    assert "Section 29" not in fit.text
    assert fit.text.endswith(tuple(f"word{i}_59" for i in range(30)))  # cut at a paragraph end
    messages = [{"role": "system", "content": "system prompt"}, {"role": "user", "content": fit.text}]
    assert eng.count_tokens(messages) + fit.max_tokens <= 1200
    assert any("tail was dropped" in w for w in fit.warnings)


def test_one_huge_paragraph_is_cut_at_a_word_boundary():
    eng = FakeEngine()
    text = " ".join(f"tok{i}" for i in range(5000))
    fit = fit_paper(eng, None, text, max_tokens=50, context_length=400)
    assert fit.truncated and text.startswith(fit.text) and 0 < len(fit.text) < len(text)
    assert text[len(fit.text)] == " "


def test_generation_budget_is_at_most_half_the_context():
    fit = fit_paper(FakeEngine(), "s", "paper", max_tokens=7000, context_length=2048)
    assert fit.max_tokens == 1024 and any("max_tokens lowered from 7000 to 1024" in w for w in fit.warnings)


def test_a_long_paper_in_a_batch_is_cut_not_crashed(outputs):
    eng = FakeEngine(outputs["cyclereviewer_a"], context_length=3000)
    out = CycleReviewer(model="x", engine=eng, max_tokens=500).run([_long_paper(), "a short paper"])
    assert [o.ok for o in out] == [True, True]
    assert out[0].fitted.truncated and not out[1].fitted.truncated
    assert any("tail was dropped" in w for w in out[0].review.warnings)
    assert eng.count_tokens(eng.calls[0].messages) + eng.calls[0].sampling.max_tokens <= 3000


# -- CycleReviewer -----------------------------------------------------------------------------


def test_cyclereviewer_evaluate_returns_the_original_shape_with_correct_values(rdir, outputs):
    eng = FakeEngine(outputs["cyclereviewer_a"])
    results = CycleReviewer(model="x", engine=eng).evaluate(str(rdir / "papers" / "graphmix.tex"))
    assert isinstance(results, list) and len(results) == 1
    r = results[0]
    assert r["rating"] == [5.0, 3.0, 6.0, 10.0]  # 10 stays 10
    assert r["avg_rating"] == 6.0 and r["min_rating"] == 3.0 and r["max_rating"] == 10.0
    assert r["paper_decision"] == r["decision"] == "Reject"
    assert r["soundness"] == ["3 good", "2 fair", "3 good", "3 good"]
    assert r["review_rate"][3].startswith("10: strong accept")
    assert len(r["reviews"]) == 4 and r["reviews"][1]["presentation"] == 3.0
    assert r["strength"][0].startswith("- The method is simple")
    assert r["summary"][1].startswith("GraphMix mixes features")
    assert r["meta_review"].startswith("The reviewers agree")
    assert "### justification_for_why_not_higher_score\n\nThe empirical gains" in r["meta_review"]
    assert r["content"] == outputs["cyclereviewer_a"]
    assert r["scores"]["soundness"] == pytest.approx(2.75)
    # the request: the flush prompt and the paper text as is, upstream sampling
    req = eng.calls[0]
    assert req.messages[0] == {"role": "system", "content": system_prompt("flush")}
    assert req.messages[1]["content"] == read_document(rdir / "papers" / "graphmix.tex").text
    assert (req.sampling.temperature, req.sampling.top_p) == (0.4, 0.95)


def test_cyclereviewer_review_returns_typed_records_for_a_list(outputs):
    eng = FakeEngine(outputs["cyclereviewer_a"])
    reviews = CycleReviewer(model="x", engine=eng, prompt_form="indented").review(
        ["paper one", {"text": "paper two", "title": "Two"}]
    )
    assert len(reviews) == 2 and all(isinstance(r, Review) for r in reviews)
    assert reviews[0].ratings == [5.0, 3.0, 6.0, 10.0] and reviews[1].decision == "Reject"
    assert eng.calls[0].messages[0]["content"] == system_prompt("indented")


def test_a_failed_request_is_reported_and_the_batch_goes_on(outputs):
    eng = FakeEngine(outputs["cyclereviewer_a"], fail_on=[1])
    out = CycleReviewer(model="x", engine=eng).run(["paper a", "paper b", "paper c"])
    assert [o.ok for o in out] == [True, False, True]
    assert "scripted failure" in out[1].error
    legacy = CycleReviewer(model="x", engine=FakeEngine("", fail_on=[0])).evaluate(["p"])
    assert legacy[0]["error"] and legacy[0]["avg_rating"] is None
    with pytest.raises(CycleResearcherError, match="No paper could be reviewed"):
        CycleReviewer(model="x", engine=FakeEngine("", fail_on=[0])).review("p")


def test_output_cut_at_max_tokens_is_flagged():
    class LengthEngine(FakeEngine):
        def _generate_one(self, request):
            res = super()._generate_one(request)
            res.completions[0].finish_reason = "length"
            return res

    review = CycleReviewer(model="x", engine=LengthEngine("## Summary\n\nHalf a rev")).review("paper")[0]
    assert review.truncated and any("max_tokens" in w for w in review.warnings)


# -- DeepReviewer ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["Fast Mode", "fast"])
def test_deepreviewer_fast(outputs, mode):
    eng = FakeEngine(deep_script(outputs, "fast"))
    r = DeepReviewer(model="x", engine=eng).evaluate("paper text", mode=mode)[0]
    assert r["decision"] == "Accept" and r["rating"] == 6.0 and r["reviews"] == []
    assert r["meta_review"]["soundness"] == 3.0 and r["meta_review"]["summary"].startswith(
        "The paper proposes"
    )
    assert "## Decision:\n\nAccept" in r["meta_review"]["content"]
    assert "Fast Mode" in eng.calls[0].messages[0]["content"]


def test_deepreviewer_standard(outputs):
    eng = FakeEngine(deep_script(outputs, "standard"))
    r = DeepReviewer(model="x", engine=eng).evaluate("paper text", mode="Standard Mode", reviewer_num=2)[0]
    assert "simulating 2 different reviewers" in eng.calls[0].messages[0]["content"]
    assert [x["rating"] for x in r["reviews"]] == [6.0, 4.0] and [x["reviewer_id"] for x in r["reviews"]] == [
        1,
        2,
    ]
    assert r["meta_review"]["rating"] == 5.0 and r["meta_review"]["soundness"] == 2.5
    assert r["decision"] == "Reject" and r["avg_rating"] == 5.0 and r["mode"] == "standard"
    # the fake engine's 32,768-token window: the 35,000-token budget drops to half of it
    assert eng.calls[0].sampling.max_tokens == 16384


class FixedRetriever(Retriever):
    """A real (offline) retriever with canned answers; records what it was asked."""

    name = "fixed"

    def __init__(self):
        self.asked: list[list[str]] = []
        self.papers: list[str] = []

    def for_paper(self, text, bibtex=None):
        self.papers.append(text)
        return self

    def ask(self, questions):
        self.asked.append(list(questions))
        return [
            RetrievalResult(f"Answer {i}.", f"[0] Title: Source {i} Text: passage {i}")
            for i, _ in enumerate(questions, 1)
        ]


class BrokenRetriever(Retriever):
    name = "broken"

    def ask(self, questions):
        raise RetrievalError("connection refused")


def test_best_mode_runs_two_turns_with_the_byte_exact_qa_message(outputs):
    eng = FakeEngine(deep_script(outputs, "best"))
    retriever = FixedRetriever()
    reviewer = DeepReviewer(model="x", engine=eng, retriever=retriever)
    out = reviewer.run(["\\title{Routing}\nthe paper"], mode="Best Mode", reviewer_num=2)[0]
    assert len(eng.calls) == 2
    t1, t2 = eng.calls
    assert [m["role"] for m in t2.messages] == ["system", "user", "assistant", "user"]
    assert t2.messages[:2] == t1.messages
    assert t2.messages[2]["content"] == outputs["own_deep_best_turn1"]
    questions = [
        "What routing strategies exist for sparse mixture-of-experts models?",
        "How is load balancing measured in mixture-of-experts training?",
        "Which hashing methods have been used for token routing?",
    ]
    assert retriever.asked == [questions] and retriever.papers == ["\\title{Routing}\nthe paper"]
    assert t2.messages[3]["content"] == build_qa_message(questions, retriever.ask(questions))
    review = out.review
    assert review.mode == "best" and review.questions == questions and review.decision == "Reject"
    assert review.final["rating"] == 5.0 and [r.rating for r in review.reviewers] == [6.0, 4.0]
    assert review.analysis and "learned hash router" in review.analysis
    assert review.blocks[:2] == ["questions", "analysis"]
    assert out.turns == [outputs["own_deep_best_turn1"], outputs["own_deep_best_turn2"]]
    assert out.retrieval[0]["output"] == "Answer 1."


def test_best_mode_without_retrieval_completes_and_says_so(outputs):
    for retriever, phrase in (
        (BrokenRetriever(), "retrieval unavailable"),
        (NoRetriever(), "retrieval disabled"),
    ):
        eng = FakeEngine(deep_script(outputs, "best"))
        out = DeepReviewer(model="x", engine=eng, retriever=retriever).run("paper", mode="best")[0]
        assert out.ok and out.review.decision == "Reject"
        assert any(phrase in w for w in out.review.warnings)
        assert eng.calls[1].messages[3]["content"].count("No information retrieved.") == 6


def test_best_mode_turn1_without_questions_is_the_review(outputs):
    eng = FakeEngine(outputs["own_deep_standard"])
    out = DeepReviewer(model="x", engine=eng, retriever=NoRetriever()).run("paper", mode="best")[0]
    assert len(eng.calls) == 1 and out.ok and out.review.final["rating"] == 5.0
    assert any("asked no \\boxed_questions" in w for w in out.review.warnings)


def test_best_mode_turn2_shrinks_to_fit_the_context(outputs):
    class BigRetriever(FixedRetriever):
        def ask(self, questions):
            return [
                RetrievalResult("short answer", "[0] Title: T Text: " + "lorem ipsum " * 2000)
                for _ in questions
            ]

    eng = FakeEngine(deep_script(outputs, "best"), context_length=6000)
    out = DeepReviewer(model="x", engine=eng, retriever=BigRetriever(), max_tokens=1000).run(
        "paper", mode="best"
    )[0]
    assert out.ok and any("passages cut" in w for w in out.review.warnings)
    t2 = eng.calls[1]
    assert eng.count_tokens(t2.messages) + t2.sampling.max_tokens <= 6000
    assert "short answer" in t2.messages[3]["content"]


# -- the file runner, run store, resume ------------------------------------------------------------


def test_review_files_stores_exports_and_resumes(rdir, outputs, tmp_path):
    run = tmp_path / "run"
    files = [str(rdir / "papers"), str(rdir / "bad")]
    eng = FakeEngine(outputs["cyclereviewer_a"])
    ticks: list[int] = []
    totals: list[int] = []
    res = review_files(
        files, CycleReviewer(model="x", engine=eng), run, progress=ticks.append, on_total=totals.append
    )
    assert len(res.outcomes) == 4 and all(o.ok for o in res.outcomes)
    assert sorted(Path(label).name for label, _ in res.unreadable) == ["broken.pdf", "empty.txt"]
    assert all(Path(label).name in msg for label, msg in res.unreadable)
    assert totals == [4] and sum(ticks) == 4 and len(eng.calls) == 4
    with RunStore(run) as store:
        records = dict(store.items(RECORD_KIND))
        assert set(records) == {o.paper.id for o in res.outcomes}
        stored = records[res.outcomes[0].paper.id]
        assert (
            stored["review"]["avg_rating"] == 6.0
            and stored["review"]["raw_text"] == outputs["cyclereviewer_a"]
        )
        assert store.summary()["review"]["done"] == 4
    for o in res.outcomes:
        data = json.loads((run / "reviews" / f"{o.paper.id}.json").read_text())
        assert data["paper_id"] == o.paper.id and data["review"]["decision"] == "Reject"
        md = (run / "reviews" / f"{o.paper.id}.md").read_text()
        assert "Decision: Reject" in md and "## Reviewer 4" in md
    # a second run needs --resume; with it nothing is recomputed
    with pytest.raises(InputError, match="--resume"):
        review_files(files, CycleReviewer(model="x", engine=FakeEngine("x")), run)
    eng2 = FakeEngine("SHOULD NOT BE CALLED")
    again = review_files(files, CycleReviewer(model="x", engine=eng2), run, resume=True)
    assert eng2.calls == [] and [o.review.avg_rating for o in again.outcomes] == [6.0] * 4


def test_resume_retries_only_the_failed_request(rdir, outputs, tmp_path):
    run = tmp_path / "run"
    files = [str(rdir / "papers")]
    first = review_files(
        files, CycleReviewer(model="x", engine=FakeEngine(outputs["cyclereviewer_a"], fail_on=[2])), run
    )
    assert [o.ok for o in first.outcomes].count(False) == 1
    eng = FakeEngine(outputs["cyclereviewer_a"])
    second = review_files(files, CycleReviewer(model="x", engine=eng), run, resume=True)
    assert len(eng.calls) == 1 and all(o.ok for o in second.outcomes)


def test_best_mode_resume_reuses_turns_and_retrieval(rdir, outputs, tmp_path):
    run = tmp_path / "run"
    retriever = FixedRetriever()
    first = review_files(
        [str(rdir / "papers" / "sparseroute.md")],
        DeepReviewer(model="x", engine=FakeEngine(deep_script(outputs, "best")), retriever=retriever),
        run,
        mode="best",
    )
    assert first.outcomes[0].ok and len(retriever.asked) == 1
    eng = FakeEngine("unused")
    again = review_files(
        [str(rdir / "papers" / "sparseroute.md")],
        DeepReviewer(model="x", engine=eng, retriever=retriever),
        run,
        resume=True,
        mode="best",
    )
    assert eng.calls == [] and len(retriever.asked) == 1
    assert again.outcomes[0].review.to_dict() == first.outcomes[0].review.to_dict()


def test_a_research_run_directory_is_reviewed_under_its_paper_keys(rdir, outputs, tmp_path):
    src = tmp_path / "gen"
    paper = json.loads((rdir / "papers" / "paper.json").read_text())
    with RunStore(src) as store:
        store.put("paper", "p-0001", paper)
    res = review_files(
        [str(src)], CycleReviewer(model="x", engine=FakeEngine(outputs["cyclereviewer_a"])), tmp_path / "rev"
    )
    assert [o.paper.id for o in res.outcomes] == ["p-0001"]
    assert (tmp_path / "rev" / "reviews" / "p-0001.json").exists()


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_review_default_command_runs_a_batch(rdir, tmp_path, outputs):
    from cycleresearcher.cli import app

    run = tmp_path / "cli"
    args = [
        "review",
        str(rdir / "papers" / "graphmix.tex"),
        str(rdir / "bad" / "empty.txt"),
        "--engine",
        FAKE_ENGINE,
        "--engine-opt",
        f"script={outputs['cyclereviewer_a']}",  # a reply with no reviewer in it is a failure
        "-o",
        str(run),
    ]
    result = CliRunner().invoke(app, args)
    # the rest goes on, but an unreadable input means not everything came out: exit 3
    assert result.exit_code == 3, result.output
    assert "GraphMix" in result.output and "Decision:" in result.output
    assert "empty.txt" in result.output and "no text" in result.output
    assert len(list((run / "reviews").glob("*.json"))) == 1
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = CliRunner().invoke(app, [*args, "--resume", "--reviewer", "cyclereviewer"])
    assert resumed.exit_code == 3, resumed.output
    readable = [a for a in args if not a.endswith("empty.txt")]
    last = CliRunner().invoke(app, [*readable, "--resume"])
    assert last.exit_code == 0, last.output


def test_cli_review_run_deepreviewer_options_and_nothing_readable(rdir, tmp_path, outputs):
    from cycleresearcher.cli import app

    result = CliRunner().invoke(
        app, ["review", "run", str(rdir / "bad"), "--engine", FAKE_ENGINE, "-o", str(tmp_path / "x")]
    )
    # no input could be read: bad input (exit 2), each file named, and no folder left behind
    assert result.exit_code == 2 and "Reviewed 0 paper(s)" not in result.output, result.output
    assert all(p.name in result.output for p in (rdir / "bad").iterdir()) and not (tmp_path / "x").exists()
    ok = CliRunner().invoke(
        app,
        [
            "review",
            str(rdir / "papers" / "notes.txt"),
            "--reviewer",
            "deepreviewer",
            "--mode",
            "best",
            "--retriever",
            "none",
            "--reviewers",
            "3",
            "--engine",
            FAKE_ENGINE,
            "--engine-opt",
            f"script={outputs['own_deep_standard']}",  # no questions: turn 1 is the review
            "-o",
            str(tmp_path / "y"),
        ],
    )
    assert ok.exit_code == 0, ok.output
    data = json.loads(next((tmp_path / "y" / "reviews").glob("*.json")).read_text())
    assert data["reviewer"] == "deepreviewer" and data["mode"] == "best"


def test_engine_instances_passed_in_are_not_closed(outputs):
    closed = []

    class Tracking(FakeEngine):
        def close(self):
            closed.append(True)

    eng = Tracking(outputs["cyclereviewer_a"])
    with CycleReviewer(model="x", engine=eng) as rev:
        rev.review("paper")
    assert closed == [] and isinstance(eng, Engine)


def test_failed_parse_keeps_the_raw_output_in_md_and_json(rdir, tmp_path):
    raw = "I read the paper.\n```\nIt is fine, I suppose.\n```"  # no review sections: the parse fails
    res = review_files([str(rdir / "papers" / "graphmix.tex")], CycleReviewer(model="x", engine=FakeEngine(raw)), tmp_path)
    [outcome] = res.outcomes
    assert outcome.review is not None and outcome.review.parse_failed
    folder = tmp_path / "reviews"
    md = next(folder.glob("*.md")).read_text()
    assert "## Raw model output" in md and "````\n" + raw + "\n````" in md  # its own fence stays inside
    assert json.loads(next(folder.glob("*.json")).read_text())["review"]["raw_text"] == raw
    # a review that parsed needs no raw copy
    assert "Raw model output" not in Review.from_dict({"reviewers": [{"rating": 6}], "raw_text": raw}).to_markdown()


def _summary_text(review: Review) -> str:
    from rich.console import Console

    from cycleresearcher.review.context import PaperInput
    from cycleresearcher.review.runner import ReviewOutcome
    from cycleresearcher.review.summary import summary_renderable

    outcome = ReviewOutcome(PaperInput("p1", "text", "A paper"), review, "deepreviewer", "m")
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(summary_renderable(outcome))
    return console.export_text()


def test_summary_points_come_from_strengths_and_weaknesses_without_markdown(fixtures_dir):
    from cycleresearcher.review.parse import parse_review

    text = (fixtures_dir / "deepreviewer" / "deepreviewer_standard_001.txt").read_text()
    shown = _summary_text(parse_review(text, format="deepreviewer"))
    assert "Some Related Works" not in shown and "#### comment" not in shown
    assert "R1  + The proposed iterative mask denoising (IMD) process" in shown
    assert "    - My primary concern is that the paper lacks a clear definition" in shown


def test_summary_points_drop_emphasis_and_labels():
    op = {
        "rating": 5,
        "strengths": "**Strengths:**\n1. **Novelty**: the *gating* idea is `new`.",
        "weaknesses": "- __Scope__: 3D scenes only.",
    }
    shown = _summary_text(Review.from_dict({"reviewers": [op]}))
    assert "R1  + Novelty: the gating idea is new." in shown and "- Scope: 3D scenes only." in shown
    assert "**" not in shown and "__" not in shown
    fast = _summary_text(Review.from_dict({"final_text": {"strengths": "- **Clear**", "weaknesses": "1. Small"}}))
    assert "Final  + Clear" in fast and "- Small" in fast


def test_latex_titles_are_shown_plain_in_summary_and_markdown(tmp_path):
    from cycleresearcher.review.summary import summary_renderable

    paper = tmp_path / "gates.txt"
    paper.write_text("\\title{\\textbf{Sparse}~Gates for $k$-NN}\n\n" + "We study gates. " * 40)
    res = review_files([str(paper)], CycleReviewer(model="x", engine=FakeEngine("no review")), tmp_path / "run")
    [outcome] = res.outcomes
    assert outcome.paper.title == "Sparse Gates for k-NN"
    md = next((tmp_path / "run" / "reviews").glob("*.md")).read_text()
    assert md.startswith("# Review: Sparse Gates for k-NN\n")
    outcome.paper.title = "\\title{\\emph{Raw} title}"  # e.g. a stored record from before
    from rich.console import Console

    console = Console(width=120, record=True, file=io.StringIO())
    console.print(summary_renderable(outcome))
    assert "Raw title" in console.export_text() and "\\emph" not in console.export_text()
