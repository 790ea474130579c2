"""The CycleResearcher output parser: real generations (shared fixtures), our own damaged texts,
and a property test that it never raises."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cycleresearcher.errors import InputError
from cycleresearcher.paper import (
    TURN_JOINT,
    Paper,
    complete_paper,
    parse_paper,
    parse_stage1,
    results_message,
)
from cycleresearcher.prompts import research as research_prompts

# How turns 3, 4 and 5 can be glued: special tokens skipped (nothing), a blank line, or template
# markers a decoder left in the text (ChatML/Phi, Mistral, Llama 3).
JOINS = [
    ("", ""),
    ("\n\n", "\n\n"),
    ("<|im_end|>\n<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant<|im_sep|>\n"),
    ("</s>[INST]", "[/INST]"),
    (
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n",
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    ),
]

MODEL_CARD_KEYS = {
    "title", "abstract", "latex", "motivation", "idea", "interestingness", "feasibility", "novelty",
    "Experimental_Setup", "Experimental_results", "generated_text",
}  # fmt: skip


def _conversation(fixtures_dir, i):
    return json.loads((fixtures_dir / "research" / f"conversation_{i:03d}.json").read_text())["messages"]


def _section(text: str, header: str) -> str:
    """Text under a '## header' line up to the next '## ' header or fence (from the fixture itself)."""
    m = re.search(rf"^## {header}\s*\n(.*?)(?=^## |^```)", text, re.S | re.M)
    assert m, header
    return m.group(1).strip()


def _as_written(value):
    """A strict json.loads of the records reads the LaTeX "\\textsc" as TAB + "extsc" (and "\\b",
    "\\f" as control characters); the records hold no real tab, backspace or form feed, so putting
    the backslash back gives what the model wrote, independently of our reader."""
    if isinstance(value, str):
        return value.replace("\t", "\\t").replace("\b", "\\b").replace("\f", "\\f")
    if isinstance(value, list):
        return [_as_written(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_written(v) for k, v in value.items()}
    return value


def _fenced(text: str, lang: str) -> str:
    m = re.search(rf"```{lang}\n(.*?)(```|$)", text, re.S)
    assert m, lang
    return m.group(1).strip()


@pytest.mark.parametrize("i", range(1, 7))
@pytest.mark.parametrize("join", JOINS, ids=["glued", "blank", "chatml", "mistral", "llama3"])
def test_conversations_parse_completely(fixtures_dir, i, join):
    msgs = _conversation(fixtures_dir, i)
    turn3, turn4, turn5 = msgs[2]["content"], msgs[3]["content"], msgs[4]["content"]
    paper = parse_paper(turn3 + join[0] + turn4 + join[1] + turn5)

    assert paper.motivation == _section(turn3, "Motivation")
    assert paper.idea == _section(turn3, "Main Idea")
    for name, header in (
        ("interestingness", "Interestingness"),
        ("feasibility", "Feasibility"),
        ("novelty", "Novelty"),
    ):
        assert getattr(paper, name) == int(_section(turn3, header))
    main = _fenced(turn3, "latex")
    assert paper.main_latex == main
    assert paper.results_latex == _fenced(turn5, "latex")
    assert paper.latex == main + "\n\n" + _fenced(turn5, "latex")
    title = re.search(r"\\title\{(.*)\}\s*$", main.split("\\begin{abstract}")[0], re.S).group(1)
    assert paper.title == " ".join(title.split())
    assert paper.abstract == main.split("\\begin{abstract}")[1].split("\\end{abstract}")[0].strip()
    assert paper.experimental_setup == json.loads(_fenced(turn3, "json"))
    assert paper.experimental_results == _as_written(json.loads(_fenced(turn4, "json").rstrip("`")))
    assert isinstance(paper.experimental_setup, list) and paper.experimental_setup
    assert paper.results_simulated is True
    assert not [w for w in paper.warnings if "JSON" in w or "no '" in w]


@pytest.mark.parametrize("i", range(1, 7))
def test_results_turn_is_rebuilt_byte_for_byte(fixtures_dir, i):
    msgs = _conversation(fixtures_dir, i)
    results = _as_written(json.loads(_fenced(msgs[3]["content"], "json").rstrip("`")))
    assert results_message(results) == msgs[3]["content"]
    assert results_message is research_prompts.results_message  # one builder of the results turn


@pytest.mark.parametrize("i", [1, 4])
def test_two_stage_on_real_conversation(fixtures_dir, i):
    msgs = _conversation(fixtures_dir, i)
    stage1 = parse_stage1(msgs[2]["content"])
    assert stage1.experimental_results is None and stage1.results_latex == ""
    assert stage1.results_simulated is False
    results = _as_written(json.loads(_fenced(msgs[3]["content"], "json").rstrip("`")))
    done = complete_paper(stage1, results, msgs[4]["content"])
    full = parse_paper(msgs[2]["content"] + msgs[3]["content"] + msgs[4]["content"])
    assert done.results_simulated is False
    assert (done.latex, done.results_latex, done.experimental_results) == (
        full.latex,
        full.results_latex,
        full.experimental_results,
    )
    # the conversation we record holds the training record's turn 4 byte for byte
    turns = [msgs[2]["content"].rstrip(), msgs[3]["content"], msgs[4]["content"].strip()]
    assert done.generated_text == TURN_JOINT.join(turns)


def test_complete_paper_records_the_turn_the_model_is_given(full_text):
    stage1 = parse_stage1(full_text.split("## Experimental_results")[0])
    one = {"name": "Main", "result": {"table": [["Method", "PPL"], ["Ours", "17.9"]]}}
    done = complete_paper(stage1, one, "```latex\n\\section{Experiments}\nMeasured: 17.9.\n")
    # a single experiment is sent as a list of one (prompts.research); the record says the same
    assert research_prompts.results_message([one]) in done.generated_text
    for unusable in ("not JSON at all", "42", ""):
        with pytest.raises(InputError, match="experimental results"):
            complete_paper(stage1, unusable, "```latex\n\\section{Experiments}\n")


def test_researcher_010_latex_matches_tutorial_record(fixtures_dir):
    research = fixtures_dir / "research"
    text = (research / "researcher_010_latex.txt").read_text()
    record = json.loads((research / "researcher_tutorial1_parsed.json").read_text())["papers"][-1]
    paper = parse_paper(text)
    # The old parser kept the closing brace and blank lines in the title; ours does not.
    assert paper.title == record["title"].strip().removesuffix("}")
    assert paper.abstract == record["abstract"].strip()
    assert "<|im_start|>" not in paper.latex and "\\section{Experiments}" in paper.latex
    assert any("template markers" in w for w in paper.warnings)


def test_tutorial_records_round_trip(fixtures_dir):
    """Each tutorial record's fields, laid out as the model writes them, come back unchanged."""
    record = json.loads((fixtures_dir / "research" / "researcher_tutorial1_parsed.json").read_text())
    for p in record["papers"]:
        title = p["title"].strip().removesuffix("}")
        text = (
            f"## Motivation{p['motivation']}## Main Idea{p['idea']}## Interestingness\n\n6\n\n"
            f"## Feasibility\n\n7\n\n## Novelty\n\n5\n\n```latex\n\\title{{{title}}}\n\n"
            f"\\begin{{abstract}}{p['abstract']}\\end{{abstract}}\n```"
        )
        paper = parse_paper(text)
        assert (paper.title, paper.abstract) == (title, p["abstract"].strip())
        assert (paper.motivation, paper.idea) == (p["motivation"].strip(), p["idea"].strip())


# ----------------------------------------------------------------------------- our own data


@pytest.fixture(scope="module")
def full_text(data_dir) -> str:
    return (data_dir / "paper" / "generation_full.txt").read_text()


def test_full_generation(full_text):
    p = parse_paper(full_text)
    assert p.warnings == []
    assert p.title == "Warm Routing: Annealed {Mixture-of-Experts} Routers Without Auxiliary Losses"
    assert (p.interestingness, p.feasibility, p.novelty) == (7, 8, 6)
    assert p.motivation.startswith("Sparse mixture-of-experts") and p.idea.startswith(
        "We propose Warm Routing"
    )
    assert p.abstract.startswith("Mixture-of-experts (MoE)") and p.abstract.endswith("every expert.")
    assert [e["name"] for e in p.experimental_setup] == [
        "Language modelling",
        "Ablation of the warm-up length",
    ]
    assert p.experimental_results[0]["result"]["table"][2] == ["Warm Routing", "18.1", "16"]
    assert p.results_latex.startswith("\\section{Experiments}") and p.results_latex.endswith(
        "hyper-parameter."
    )
    assert p.latex.startswith("\\title{") and p.latex.endswith(p.results_latex)
    assert "```" not in p.latex


def test_to_dict_has_model_card_keys_and_round_trips(full_text):
    p = parse_paper(full_text)
    p.id, p.topic, p.meta = "x1", "MoE", {"seed": 3}
    d = p.to_dict()
    assert set(d) >= MODEL_CARD_KEYS and d["results_simulated"] is True and d["warnings"] == []
    assert d["Experimental_Setup"] == p.experimental_setup
    assert Paper.from_dict(json.loads(json.dumps(d))) == p


def test_truncated_at_max_tokens(full_text):
    cut = full_text[: full_text.index("\\bottomrule")]
    p = parse_paper(cut, finish_reason="length")
    assert p.title and p.experimental_results and p.results_latex.startswith("\\section{Experiments}")
    assert any("max-token" in w for w in p.warnings)
    assert any("ends inside \\begin{tabular}" in w for w in p.warnings)


@pytest.mark.parametrize("frac", [0.05, 0.2, 0.4, 0.6, 0.75, 0.9])
def test_truncated_anywhere_keeps_what_came_before(full_text, frac):
    cut = full_text[: int(len(full_text) * frac)]
    p = parse_paper(cut)
    assert p.generated_text == cut
    if "## Feasibility\n\n8" in cut:
        assert p.feasibility == 8
    if "\\end{abstract}" in cut:
        assert p.abstract.endswith("every expert.")
    if '"Ablation of the warm-up length", "description"' in cut and "## Experimental_results" in cut:
        assert len(p.experimental_setup) == 2
    assert p.warnings  # something is always missing


def test_missing_fences(full_text):
    text = re.sub(r"```(latex|json)?", "", full_text)
    p = parse_paper(text)
    assert p.title.startswith("Warm Routing") and p.abstract.startswith("Mixture-of-experts")
    assert len(p.experimental_setup) == 2 and len(p.experimental_results) == 2
    assert p.results_latex.startswith("\\section{Experiments}")
    assert "## Experimental" not in p.latex
    assert any("fence" in w for w in p.warnings)


@pytest.mark.parametrize("stop", ["\\clearpage", "\\clear", "clearpage", "\n\\clearpage\n"])
def test_clearpage_stop(full_text, stop):
    p = parse_paper(full_text + stop)
    assert p.results_latex.endswith("hyper-parameter.") and p.warnings == []


def test_missing_setup_json(full_text):
    text = re.sub(
        r"## Experimental Setup\n\n```json\n.*?```\n", "## Experimental Setup\n\n", full_text, flags=re.S
    )
    p = parse_paper(text)
    assert p.experimental_setup is None and any("experimental setup JSON missing" in w for w in p.warnings)
    assert len(p.experimental_results) == 2 and p.results_latex


def test_broken_json_is_repaired(full_text):
    text = full_text.replace('perplexity."}, {"name"', 'perplexity.",}, {"name"', 1)
    text = text.replace('"Vary $T_w$ and measure perplexity."}]', '"Vary $T_w$ and measure perplexity."')
    p = parse_paper(text)
    assert [e["name"] for e in p.experimental_setup] == [
        "Language modelling",
        "Ablation of the warm-up length",
    ]
    assert any("repaired" in w for w in p.warnings)


def test_unparseable_json(full_text):
    text = full_text.replace('[{"name": "Language modelling", "result"', "not json at all <<<", 1)
    text = text.split("not json at all <<<")[0] + "not json at all <<<```\n\n```latex\n\\section{X}\nok"
    p = parse_paper(text)
    assert p.experimental_results is None and p.results_latex == "\\section{X}\nok"


def test_no_title(full_text):
    p = parse_paper(re.sub(r"\\title\{.*?\}\n", "", full_text.replace("{Mixture-of-Experts}", "MoE")))
    assert p.title == "" and any("\\title" in w for w in p.warnings) and p.abstract


def test_braces_in_title_and_unclosed_title():
    p = parse_paper("```latex\n\\title{A {B} C \\{x\\} {D {E}}}\n\\begin{abstract}x\\end{abstract}\n```")
    assert p.title == "A {B} C \\{x\\} {D {E}}"
    q = parse_paper("```latex\n\\title{Half a {title\n\nbody text")
    assert q.title == "Half a {title" and any("never closed" in w for w in q.warnings)


def test_scores_written_loosely():
    text = "## Interestingness: **8**/10\n\n## Feasibility\n\nabout 7.4\n\n## Novelty\n\nhigh\n"
    p = parse_paper(text)
    assert (p.interestingness, p.feasibility, p.novelty) == (8, 7, None)
    assert any("Novelty" in w and "no integer" in w for w in p.warnings)


def test_results_text_inside_latex_does_not_split(full_text):
    """The results header is only a marker at a line start, never inside a block's text."""
    text = full_text.replace(
        "Table~\\ref{tab:main}", "the ## Experimental_results table (Table~\\ref{tab:main})"
    )
    p = parse_paper(text)
    assert "## Experimental_results table" in p.results_latex and len(p.experimental_results) == 2


def test_empty_and_non_text():
    for value in ("", "   \n", None, 42):
        p = parse_paper(value)  # type: ignore[arg-type]
        assert isinstance(p, Paper) and p.warnings


def test_stage1_drops_simulated_results(full_text):
    p = parse_stage1(full_text)
    assert p.experimental_results is None and p.results_latex == "" and p.results_simulated is False
    assert any("stage 1" in w for w in p.warnings)
    assert len(p.experimental_setup) == 2


def test_complete_paper_with_real_results(full_text):
    stage1_text = full_text.split("## Experimental_results")[0]
    s1 = parse_stage1(stage1_text)
    assert not any("results" in w for w in s1.warnings)
    real = [
        {"name": "Language modelling", "result": {"table": [["Method", "PPL"], ["Warm Routing", "17.9"]]}}
    ]
    turn5 = "```latex\n\\section{Experiments}\nMeasured: 17.9.\n\n\\section{Conclusion}\nDone.\n"
    done = complete_paper(s1, json.dumps(real), turn5)
    assert done.results_simulated is False and done.experimental_results == real
    assert done.results_latex == "\\section{Experiments}\nMeasured: 17.9.\n\n\\section{Conclusion}\nDone."
    assert done.latex == s1.latex + "\n\n" + done.results_latex and s1.results_latex == ""
    # generated_text holds the whole conversation; it parses back to the same paper.
    again = parse_paper(done.generated_text, results_simulated=False)
    assert (again.latex, again.experimental_results, again.title) == (done.latex, real, s1.title)
    # completing a paper that had simulated results replaces them
    redone = complete_paper(parse_paper(full_text), real, turn5)
    assert redone.latex == done.latex and redone.results_simulated is False


# ----------------------------------------------------------------------------- property tests

MARKERS = [
    "## Motivation\n", "## Main Idea\n", "## Novelty\n", "```latex\n", "```json\n", "```", "\\title{",
    "\\begin{abstract}", "\\end{abstract}", "## Experimental Setup\n", "## Experimental_results\n", "{", "}",
    "[", "]", '"', "\\", "\\begin{table}", "<|im_end|>", "\\clearpage", "\n",
]  # fmt: skip


def check_total(p: Paper, text: str) -> None:
    """What 'never raises' must still guarantee. The parser's catch-all turns a crash into a
    'parser error' warning, so that warning is the crash: it must never appear."""
    assert isinstance(p, Paper) and p.generated_text == text
    assert not any(w.startswith("parser error") for w in p.warnings), p.warnings
    assert all(isinstance(w, str) and w for w in p.warnings)
    for score in (p.interestingness, p.feasibility, p.novelty):
        assert score is None or type(score) is int
    assert p.latex.endswith(p.results_latex)  # the results part is the tail of the full body
    again = Paper.from_dict(json.loads(json.dumps(p.to_dict())))
    assert (again.title, again.abstract, again.latex) == (p.title, p.abstract, p.latex)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_arbitrary_text(text):
    check_total(parse_paper(text), text)
    check_total(parse_stage1(text), text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_never_raises_on_mutated_generation(full_text, data):
    text = full_text
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 400)))
        text = text[:i] + data.draw(st.sampled_from([*MARKERS, ""])) + text[j:]
    check_total(parse_paper(text), text)
    check_total(parse_stage1(text), text)
