"""Experiment results: LaTeX-aware JSON reading, the shape check, and the grounding check,
on our own strings and on the released training records (shared fixtures)."""

from __future__ import annotations

import json
import re

import pytest

from cycleresearcher.errors import InputError
from cycleresearcher.latex_json import dump_json, read_json
from cycleresearcher.paper import complete_paper, parse_paper, parse_stage1
from cycleresearcher.paper.grounding import check_grounding, result_numbers
from cycleresearcher.paper.results import load_results, validate_results

HEADER = "## Experimental_results\n\n```json\n"


def _records(fixtures_dir):
    paths = sorted((fixtures_dir / "research").glob("conversation_*.json"))
    assert len(paths) == 6
    return [json.loads(p.read_text(encoding="utf-8"))["messages"] for p in paths]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


# -- reading LaTeX inside JSON ------------------------------------------------------------------


def test_latex_commands_stay_literal() -> None:
    text = (
        r'["CofiPara-\textsc{Msd}", "$2\times$", "\frac{1}{2}", "\beta", "\noindent x", "\rho", '
        r'"\nabla f", "\underline{a}", "\alpha", "85.3\%", "\textbf{b}", "\tau", "\right)"]'
    )
    assert read_json(text) == [
        "CofiPara-\\textsc{Msd}", "$2\\times$", "\\frac{1}{2}", "\\beta", "\\noindent x", "\\rho",
        "\\nabla f", "\\underline{a}", "\\alpha", "85.3\\%", "\\textbf{b}", "\\tau", "\\right)",
    ]  # fmt: skip


def test_real_json_escapes_keep_their_meaning() -> None:
    text = r'["line\nThe next", "a\tb", "tab\t", "\u00e9t\u00e9", "say \"hi\"", "C:\\temp", "a\/b", "x\r\ny"]'
    assert read_json(text) == [
        "line\nThe next",
        "a\tb",
        "tab\t",
        "été",
        'say "hi"',
        "C:\\temp",
        "a/b",
        "x\r\ny",
    ]


def test_dump_json_is_the_inverse_in_the_training_layout() -> None:
    value = [{"name": "A \\textsc{B}", "result": {"description": "x \\\\ y \\nabla, line\nThe é"}}]
    text = dump_json(value)
    assert '"A \\textsc{B}"' in text and "\\u00e9" in text and "\\\\\\\\ y" in text
    assert read_json(text) == value


def test_training_records_round_trip_with_latex_intact(fixtures_dir) -> None:
    for i, msgs in enumerate(_records(fixtures_dir), 1):
        for payload in (
            msgs[3]["content"][len(HEADER) : -len("```")],
            re.search(r"```json\n(.*?)```", msgs[2]["content"], re.S).group(1),  # the setup JSON
        ):
            value = read_json(payload)
            # every LaTeX command written in the file is in the parsed strings, and nothing became a
            # control character
            written = re.findall(r"(?<!\\)\\(?!u[0-9a-fA-F]{4})[A-Za-z]+", payload)
            joined = "\n".join(_strings(value))
            assert sum(joined.count(cmd) for cmd in set(written)) >= len(written), i
            assert not re.search(r"[\t\b\f\r]", joined), i
            assert dump_json(value) == payload.strip(), i
    first = read_json(_records(fixtures_dir)[0][3]["content"][len(HEADER) : -3])
    assert first[0]["result"]["table"][-1][0] == "CofiPara-\\textsc{Msd}"


def test_parser_keeps_latex_of_the_model_json(fixtures_dir) -> None:
    msgs = _records(fixtures_dir)[0]
    paper = parse_paper(msgs[2]["content"] + msgs[3]["content"] + msgs[4]["content"])
    assert paper.experimental_results[0]["result"]["table"][-1][0] == "CofiPara-\\textsc{Msd}"
    assert "\\textsc{Msd}" in paper.experimental_results[0]["result"]["description"]


# -- shape ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"acc": 81.2}, r"results.json: the results must be a JSON list"),
        ([], "empty"),
        ([{"acc": 81.2}], r"item 1 needs a 'name'.*'acc'"),
        ([{"name": "Main"}], r"item 1 \('Main'\) has no 'result'"),
        ([{"name": "Main", "result": 81.2}], r"item 1 \('Main'\) has a float as 'result'"),
        ([{"name": "Main", "result": {"acc": 1}}], r"needs at least one of table, description"),
        (
            [
                {"name": "A", "result": {"description": "x"}},
                {"name": "Ablation", "result": {"table": "81.2"}},
            ],
            r"item 2 \('Ablation'\): 'result.table' must be a list of rows",
        ),
        (
            [{"name": "T", "result": {"table": [["a", "b"], ["1", "2", "3"]]}}],
            r"row 2 has 3 cells but the header has 2",
        ),
        (
            [{"name": "T", "result": {"table": [["a"], [{"x": 1}]]}}],
            r"row 2, cell 1: a cell must be text or a number",
        ),
        ([{"name": "T", "result": {"notes": {"x": 1}}}], r"'result.notes' must be a list of texts"),
    ],
)
def test_bad_shapes_are_named(value, message) -> None:
    with pytest.raises(InputError, match=message):
        validate_results(value, "results.json")


def test_documented_variants_are_accepted(fixtures_dir) -> None:
    seen = set()
    for msgs in _records(fixtures_dir):
        items = validate_results(read_json(msgs[3]["content"][len(HEADER) : -3]))
        for item in items:
            seen |= {k for k in ("table", "description", "notes", "image") if getattr(item, k)}
    assert seen == {"table", "description", "notes", "image"}


def test_load_results_reports_json_position() -> None:
    with pytest.raises(InputError, match=r"r.json is not valid JSON \(line 1, column 3"):
        load_results("[{", "r.json")
    value, items = load_results('{"name": "Main", "result": {"table": [["M", "Acc"], ["Ours", 81.2]]}}')
    assert items[0].table.rows == [["Ours", "81.2"]] and isinstance(value, dict)


# -- grounding --------------------------------------------------------------------------------


def test_numbers_that_are_not_results_are_ignored() -> None:
    latex = (
        r"As shown in Table~\ref{tab:3} and Section 4.2 (see Eq. (7)), following \citet{a2019} in 2021, "
        r"GPT-4 and ETTh1 on F1 use $x_{12}$ and 3 seeds at 0.5\linewidth; \label{fig:77} "
        r"our model reaches 81.2\% accuracy."
    )
    assert [tok for tok, _, _ in result_numbers(latex)] == ["81.2"]


def test_rounding_and_percentages() -> None:
    items = validate_results(
        [{"name": "M", "result": {"table": [["M", "Acc"], ["Ours", "81.23"], ["B", "0.7345"]]}}]
    )
    check = check_grounding(
        r"Ours reaches 81.2 (81.23, 81.230) and B 73.45\% or 73.5\%; C gets 81.3 and 12.5.", items
    )
    assert [u.number for u in check.ungrounded] == ["81.3", "12.5"]
    assert check.checked == 7 and check.grounded == 5


def test_grounding_share_on_training_records(fixtures_dir) -> None:
    checked = grounded = 0
    for msgs in _records(fixtures_dir):
        items = validate_results(read_json(msgs[3]["content"][len(HEADER) : -3]))
        check = check_grounding(msgs[4]["content"], items)
        checked, grounded = checked + check.checked, grounded + check.grounded
        if check.checked:
            assert check.grounded / check.checked > 0.9
    assert checked > 900 and grounded / checked > 0.95  # measured: 906 of 933 (97.1%)


def test_altered_numbers_are_reported(fixtures_dir) -> None:
    msgs = _records(fixtures_dir)[0]
    turn5 = msgs[4]["content"]
    # numbers the records' results hold, changed into ones they do not
    altered = turn5.replace("85.70", "91.37").replace("32.26", "38.64").replace("1.39", "4.17")
    assert altered.count("91.37") and altered.count("38.64") and altered.count("4.17")
    stage1 = parse_stage1(msgs[2]["content"])
    results = read_json(msgs[3]["content"][len(HEADER) : -3])
    honest = complete_paper(stage1, results, turn5)
    paper = complete_paper(stage1, results, altered)
    before = {u["number"] for u in honest.ungrounded_numbers}
    after = {u["number"] for u in paper.ungrounded_numbers}
    assert after - before == {"91.37", "38.64", "4.17"}
    assert paper.grounding["checked"] == honest.grounding["checked"]
    assert paper.to_dict()["ungrounded_numbers"] == paper.ungrounded_numbers
