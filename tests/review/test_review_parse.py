"""Review records and the CycleReviewer / DeepReviewer parsers on our own fixtures (tests/data/review).

Each ``X.txt`` has a ``X.expected.json`` written by hand from reading the text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.review import Review, ReviewerOpinion, parse_review
from cycleresearcher.review.parse import detect_format, parse_decision, parse_score
from cycleresearcher.review.parse.cyclereviewer import parse_cyclereviewer
from cycleresearcher.review.parse.deepreviewer import find_blocks, parse_deepreviewer

DATA = Path(__file__).parents[1] / "data" / "review"
CASES = sorted(p.name[: -len(".txt")] for p in DATA.glob("*.txt"))
SCORES = ("rating", "soundness", "presentation", "contribution", "confidence")


def _approx(value):
    return None if value is None else pytest.approx(value, abs=1e-9)


def test_all_fixtures_have_expectations():
    assert len(CASES) >= 10
    for name in CASES:
        assert (DATA / f"{name}.expected.json").is_file(), name


@pytest.mark.parametrize("name", CASES)
def test_own_fixture_parses_as_expected(name):
    text = (DATA / f"{name}.txt").read_text(encoding="utf-8")
    exp = json.loads((DATA / f"{name}.expected.json").read_text(encoding="utf-8"))
    review = parse_review(text)
    assert review.format == exp["format"]
    assert review.decision == exp["decision"]
    assert review.truncated == exp["truncated"]
    assert len(review.reviewers) == exp["n_reviewers"]
    for key in ("avg_rating", "min_rating", "max_rating"):
        assert getattr(review, key) == _approx(exp[key]), key
    assert review.final == {k: _approx(v) for k, v in exp["final"].items()}
    for got, want in zip(review.reviewers, exp["reviewers"], strict=True):
        for key in SCORES:
            assert getattr(got, key) == _approx(want[key]), (key, want)
        for key, raw in want.get("scores_text", {}).items():
            assert got.scores_text[key] == raw
        for key in ("summary", "weaknesses", "suggestions"):
            if f"{key}_starts" in want:
                assert (getattr(got, key) or "").startswith(want[f"{key}_starts"]), key
        if "ethics_flag" in want:
            assert got.ethics_flag == want["ethics_flag"]
    for key in ("meta_review", "justification_higher", "justification_lower"):
        if f"{key}_starts" in exp:
            start = exp[f"{key}_starts"]
            value = getattr(review, key)
            assert value is None if start is None else value.startswith(start), key
    for key in ("mode", "blocks", "questions"):
        if key in exp:
            assert getattr(review, key) == exp[key], key
    for key in ("verification", "analysis"):
        if f"{key}_ends" in exp:
            assert getattr(review, key).endswith(exp[f"{key}_ends"]), key
    for key, start in exp.get("final_text_starts", {}).items():
        assert review.final_text[key].startswith(start), key
    assert len(review.warnings) == exp["n_warnings"], review.warnings
    for fragment in exp.get("warnings_contain", []):
        assert any(fragment in w for w in review.warnings), (fragment, review.warnings)
    assert not any("internal parser error" in w for w in review.warnings)


# ---- scores and decisions ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,key,value",
    [
        ("3 good", "soundness", 3.0),
        ("5: marginally below the acceptance threshold", "rating", 5.0),
        ("10: strong accept, should be highlighted at the conference", "rating", 10.0),
        ("10", "rating", 10.0),
        ("\n\n  8\n\nbecause the paper is good", "rating", 8.0),
        ("3.25", "soundness", 3.25),
        ("**6**: marginally above", "rating", 6.0),
        ("Score: 7", "rating", 7.0),
        ("N/A", "rating", None),
        ("n/a", "confidence", None),
        ("", "rating", None),
        ("excellent", "presentation", None),
        ("11: beyond the scale", "rating", None),
        ("7 good", "soundness", None),
    ],
)
def test_parse_score(text, key, value):
    got, raw, warnings = parse_score(text, key, "reviewer 1")
    assert got == value
    assert bool(warnings) == (value is None)
    if text.strip():
        assert raw == next(line.strip() for line in text.splitlines() if line.strip())


@pytest.mark.parametrize(
    "text,decision",
    [
        ("Accept", "Accept"),
        ("Accept (poster)", "Accept"),
        ("Reject", "Reject"),
        ("The paper is not accepted.", "Reject"),
        ("Not accepted", "Reject"),
        ("This paper cannot be accepted in its current form", "Reject"),
        ("reject: the evidence is insufficient", "Reject"),
        ("**Accept**\n\nThe reviewers agree.", "Accept"),
        ("Borderline; see the meta review.", None),
        ("", None),
    ],
)
def test_parse_decision(text, decision):
    assert parse_decision(text) == decision


def test_rating_ten_is_not_one():
    text = "## Summary\n\nOk.\n\n## Rating\n\n10: strong accept\n\n## Confidence\n\n5\n\n## Paper Decision\n\nAccept\n"
    review = parse_cyclereviewer(text)
    assert review.reviewers[0].rating == 10.0
    assert review.max_rating == 10.0


def test_meta_review_is_not_a_reviewer():
    text = (DATA / "cyclereviewer_a_full.txt").read_text()
    review = parse_cyclereviewer(text)
    assert len(review.reviewers) == 4
    assert 0.0 not in review.ratings
    assert review.meta_review.startswith("The paper proposes window-level")
    assert all(
        "Meta Review" not in (r.questions or "") + (r.scores_text.get("confidence") or "")
        for r in review.reviewers
    )


def test_missing_separator_still_splits_reviews():
    one = "## Summary\n\nA.\n\n## Rating\n\n6: marginally above\n\n## Confidence\n\n3\n"
    review = parse_cyclereviewer(one + "\n" + one.replace("6:", "4:") + "\n## Paper Decision\n\nReject\n")
    assert review.ratings == [6.0, 4.0]


def test_empty_and_garbage_give_partial_review_with_warnings():
    for text in ("", "   \n", "Hello, I am a small model and I like reviewing.", "}}}{{{\\boxed_review{"):
        review = parse_review(text)
        assert isinstance(review, Review)
        assert review.warnings
        assert review.reviewers == []
        assert review.decision is None


def test_non_string_input_never_raises():
    assert parse_review(None).warnings  # type: ignore[arg-type]
    # bytes are not decoded: their repr holds no review, which is said, not raised
    raw = parse_review(b"## Rating\n\n5")  # type: ignore[arg-type]
    assert raw.reviewers == [] and raw.decision is None
    assert any(w.startswith("no review found") for w in raw.warnings), raw.warnings


# ---- DeepReviewer blocks ------------------------------------------------------------------------
def test_block_does_not_end_at_first_newline_brace():
    text = (DATA / "deepreviewer_own_standard_braces.txt").read_text()
    blocks = dict(find_blocks(text)[0])
    assert "\n}" in blocks["verification"]  # a JSON object closed at column 0 inside the block
    assert blocks["verification"].endswith("```")  # the fence glued to the closing brace stays inside
    assert "\\end{equation}" in blocks["simreviewers"]
    assert blocks["review"].endswith("Reject")


def test_unclosed_last_block_is_truncated():
    text = (DATA / "deepreviewer_own_fast_truncated.txt").read_text()
    blocks, unclosed = find_blocks(text)
    assert unclosed == ["review"]
    assert "## Rating:" in blocks[0][1]


def test_mode_override_and_detection():
    text = (DATA / "deepreviewer_own_invariant.txt").read_text()
    assert parse_deepreviewer(text).mode == "standard"  # inferred from \boxed_simreviewers
    assert parse_deepreviewer(text, mode="Best").mode == "best"


def test_detect_format_and_forced_format():
    deep = (DATA / "deepreviewer_own_standard_braces.txt").read_text()
    cycle = (DATA / "cyclereviewer_b_full.txt").read_text()
    assert detect_format(deep) == "deepreviewer"
    assert detect_format(cycle) == "cyclereviewer"
    assert parse_review(cycle, format="cyclereviewer").format == "cyclereviewer-b"
    forced = parse_review(cycle, format="deepreviewer")
    assert forced.format == "deepreviewer" and forced.reviewers == [] and forced.warnings
    bad = parse_review(cycle, format="nonsense")
    assert bad.format == "cyclereviewer-b" and "unknown format" in bad.warnings[0]


def test_duplicate_block_warns_and_keeps_first():
    text = "\\boxed_review{\n## Rating:\n\n6.0\n\n## Decision:\n\nAccept\n}\n\\boxed_review{\n## Rating:\n\n2.0\n}\n"
    review = parse_deepreviewer(text)
    assert review.final["rating"] == 6.0
    assert any("appears 2 times" in w for w in review.warnings)


# ---- records ------------------------------------------------------------------------------------
def test_aggregates_only_over_parsed_reviewers():
    review = Review(
        reviewers=[ReviewerOpinion(rating=4, soundness=2), ReviewerOpinion(), ReviewerOpinion(rating=8)]
    )
    assert review.avg_rating == 6.0 and review.min_rating == 4.0 and review.max_rating == 8.0
    assert review.means["soundness"] == 2.0 and review.means["confidence"] is None
    assert Review().avg_rating is None and Review().min_rating is None


@pytest.mark.parametrize("name", CASES)
def test_to_dict_from_dict_round_trip(name):
    review = parse_review((DATA / f"{name}.txt").read_text())
    d = review.to_dict()
    assert {"decision", "final", "reviewers", "avg_rating", "min_rating", "max_rating", "warnings"} <= set(d)
    assert json.loads(json.dumps(d)) == d
    assert Review.from_dict(d) == review
    for r in d["reviewers"]:
        assert set(SCORES) <= set(r) and "summary" in r and "weaknesses" in r
    assert "raw_text" not in review.to_dict(include_raw=False)


def test_markdown_has_scores_decision_and_points():
    review = parse_review((DATA / "cyclereviewer_a_full.txt").read_text())
    md = review.to_markdown(title="RouteCast")
    assert md.startswith("# Review: RouteCast")
    assert "**Decision: Reject**" in md
    assert "4.75 / 3 / 6" in md
    assert md.count("## Reviewer ") == 4
    assert "Rating: 3, Soundness: 2" in md
    assert "## Meta review" in md and "Why not a higher score" in md
    truncated = parse_review((DATA / "cyclereviewer_a_truncated.txt").read_text()).to_markdown()
    assert "cut off" in truncated and "## Parser warnings" in truncated


# ---- CLI ----------------------------------------------------------------------------------------
def _cli(*args, input=None):
    from cycleresearcher.cli import app

    return CliRunner().invoke(app, ["review", "parse", *args], input=input)


def test_cli_parse_prints_json():
    result = _cli(str(DATA / "cyclereviewer_a_na_nodecision.txt"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["decision"] is None
    assert data["avg_rating"] == 3.0 and data["min_rating"] == 1.0 and data["max_rating"] == 5.0
    assert len(data["reviewers"]) == 4 and data["reviewers"][2]["rating"] is None
    assert len(data["warnings"]) == 3
    assert "raw_text" not in data


def test_cli_parse_format_stdin_and_markdown():
    text = (DATA / "deepreviewer_own_standard_braces.txt").read_text()
    result = _cli("-", "--format", "deepreviewer", "--raw", input=text)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["final"]["rating"] == 5.5 and data["decision"] == "Reject" and data["raw_text"] == text
    md = _cli(str(DATA / "deepreviewer_own_standard_braces.txt"), "--markdown")
    assert md.exit_code == 0 and "| Final | 5.5 |" in md.stdout


def test_cli_parse_missing_file_is_a_clear_error():
    result = _cli("does-not-exist.txt")
    assert result.exit_code == 2
    assert "no such file" in result.output
    assert _cli(str(DATA / "cyclereviewer_a_full.txt"), "--format", "bogus").exit_code == 2


# ---- a code fence glued after the closing brace (FORMATS.md §3) ----------------------------------
def _fenced_fast(close: str) -> str:
    fields = [("Summary", "A router for sparse experts."), ("Soundness", "3"), ("Presentation", "2"),
              ("Contribution", "3"), ("Rating", "6"), ("Confidence", "4"), ("Decision", "Accept")]  # fmt: skip
    body = "\n\n".join(f"## {name}:\n\n{value}" for name, value in fields)
    return "```\n\\boxed_review{\n" + body + "\n" + close


@pytest.mark.parametrize("close", ["}```", "}```\n", "} ```  \n", "}\n```", "```}"])
def test_a_fence_right_after_the_closing_brace_is_not_a_cut_off_block(close):
    review = parse_deepreviewer(_fenced_fast(close))
    assert not review.truncated and not any("not closed" in w for w in review.warnings), review.warnings
    assert review.decision == "Accept" and review.final["rating"] == 6.0


def test_a_simreviewers_block_glued_to_a_fence_is_closed_too():
    sim = "\\boxed_simreviewers{\n## Reviewer 1\n\n### Summary\n\nShort.\n\n### Rating\n\n5\n}```\n\n"
    blocks, unclosed = find_blocks(sim + _fenced_fast("}```"))
    assert unclosed == [] and [name for name, _ in blocks] == ["simreviewers", "review"]
    assert not blocks[0][1].endswith("`") and blocks[1][1].endswith("Accept")


def test_a_block_cut_off_is_still_reported_with_fences_about():
    cut = _fenced_fast("").rsplit("## Decision", 1)[0] + "```"
    assert any("not closed" in w for w in parse_deepreviewer(cut).warnings)


# ---- the CLI: nothing usable is exit 3, warnings on stderr ---------------------------------------
@pytest.mark.parametrize("text", ["", "a" * 400 + "\n", "Thanks for reading.\n"])
def test_cli_parse_of_junk_or_empty_output_exits_3_and_says_so_on_stderr(tmp_path, text):
    raw = tmp_path / "raw.txt"
    raw.write_text(text, encoding="utf-8")
    result = _cli(str(raw))
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["n_reviewers"] == 0  # the JSON still comes, for a script to read
    assert "Nothing usable in" in result.stderr and "Warning:" in result.stderr


def test_cli_parse_prints_each_warning_on_stderr_and_exits_0_when_usable():
    result = _cli(str(DATA / "cyclereviewer_a_na_nodecision.txt"))
    assert result.exit_code == 0
    warnings = json.loads(result.stdout)["warnings"]
    assert warnings and all(w.split("\n")[0][:40] in result.stderr for w in warnings)
    assert "Nothing usable" not in result.stderr


def test_cli_parse_of_a_folder_says_it_is_a_folder(tmp_path):
    result = _cli(str(tmp_path))
    assert result.exit_code == 2 and "is a folder" in result.output and "no such file" not in result.output
