"""Grounding that explains: a number derived from the supplied results by one step is grounded
with its derivation; only a number nothing explains is flagged. Also the ties between supplied
tables and the model's text (which label a dangling ref means, which table it already shows)."""

from __future__ import annotations

from cycleresearcher.paper.export.labels import dangling_refs, shown_by_model, tie
from cycleresearcher.paper.export.main_tex import build_main_tex
from cycleresearcher.paper.grounding import check_grounding
from cycleresearcher.paper.record import Paper
from cycleresearcher.paper.results import result_items

# own numbers, in the shape of the records' MSTI table (a metric measured on dev and test)
RESULTS = [
    {
        "name": "Target identification",
        "result": {
            "table": [
                ["Method", "EM (Dev)", "AP50 (Dev)", "EM (Test)", "AP50 (Test)"],
                ["Baseline", "20.10", "11.40", "22.30", "13.00"],
                ["Strong baseline", "24.60", "15.20", "25.00", "/"],
                ["Ours", "27.50", "30.10", "28.90", "31.70"],
            ],
            "description": "Ours is best.",
        },
    },
    {"name": "Memory", "result": {"table": [["Method", "GB"], ["Baseline", "12.0"], ["Ours", "9.0"]]}},
]


def _derived(text: str):
    check = check_grounding(text, result_items(RESULTS))
    return {d.number: d for d in check.derived}, [u.number for u in check.ungrounded], check


def test_one_step_derivations_are_grounded_and_shown() -> None:
    derived, ungrounded, check = _derived(
        "Ours gains 2.90 EM over the strong baseline on dev and 7.00 on average EM over the baseline, "
        "a 11.8\\% relative gain; the baseline needs 33.3\\% more memory; ours has 2.44 times the "
        "AP50 of the baseline on test. Ours averages 29.63 AP50 (wrong) and 27.77 (invented)."
    )
    assert derived["2.90"].derivation == "27.50 - 24.60 = 2.90" and derived["2.90"].kind == "difference"
    # the records' case (3.26 = 32.11 - 28.85): a metric's dev and test columns averaged, then compared
    assert derived["7.00"].derivation == "mean(27.50, 28.90) - mean(20.10, 22.30) = 7.00"
    assert derived["11.8"].derivation == "(27.50 - 24.60) / 24.60 x 100 = 11.8"
    # 3.8 / 11.40 and 3.0 / 9.0 are both a third: either explains it
    assert derived["33.3"].derivation in (
        "(12.0 - 9.0) / 9.0 x 100 = 33.3",
        "(15.20 - 11.40) / 11.40 x 100 = 33.3",
    )
    assert derived["2.44"].derivation == "31.70 / 13.00 = 2.44" and derived["2.44"].kind == "ratio"
    assert ungrounded == ["29.63", "27.77"]
    assert check.grounded == check.checked - 2
    assert check.summary()["derived"][0] == {
        "number": "2.90",
        "kind": "difference",
        "derivation": "27.50 - 24.60 = 2.90",
        "context": derived["2.90"].context,
    }


def test_row_and_column_means_and_rounding() -> None:
    derived, ungrounded, _ = _derived(
        "On average over the rows, ours scores 29.55; the EM (Dev) column averages 24.07."
    )
    assert derived["29.55"].kind == "row mean" and "mean of row 'Ours'" in derived["29.55"].derivation
    assert derived["24.07"].kind == "column mean" and derived["24.07"].derivation.startswith(
        "mean of column 'EM (Dev)'"
    )
    assert ungrounded == []
    # as is, within the rounding shown, is no derivation at all
    derived, ungrounded, check = _derived("Ours reaches 27.5 and 28.9.")
    assert derived == {} and ungrounded == [] and check.grounded == 2


def test_pairs_across_columns_do_not_explain_a_number() -> None:
    # 27.50 - 11.40 = 16.10 mixes an EM with an AP50: not a comparison a paper makes
    derived, ungrounded, _ = _derived("A gap of 16.10 points.")
    assert ungrounded == ["16.10"] and derived == {}


def test_dangling_table_refs_get_the_supplied_table_their_words_name() -> None:
    body = (
        "See Table~\\ref{tab:memory-use} and Table~\\ref{tab:target-id}, Lemma~\\ref{lem:x}, "
        "and Figure~\\ref{fig:curve}. \\label{sec:a} \\ref{sec:a}"
    )
    items = result_items(RESULTS)
    assert [k for k, _ in dangling_refs(body)] == ["tab:memory-use", "tab:target-id", "lem:x", "fig:curve"]
    ties = tie(body, items, drawn={1})
    assert ties.table_labels == {2: ["tab:memory-use"], 1: ["tab:target-id"]}
    assert ties.figure_labels == {1: ["fig:curve"]}  # the drawn chart of the first table
    source, _ = build_main_tex(
        Paper(title="T", latex=body, experimental_results=RESULTS, results_simulated=False), False
    )
    assert "\\label{tab:results-2}\\label{tab:memory-use}" in source
    assert "\\label{tab:results-1}\\label{tab:target-id}" in source
    assert "Lemma~\\CRmissingref{lem:x}" in source  # nothing supplied is a lemma
    assert source.count("\\begin{table}") == 2  # each supplied table once


def test_a_model_table_showing_the_numbers_is_referred_to_not_repeated() -> None:
    table = (
        "\\begin{table}\\caption{Memory use}\n\\begin{tabular}{lr}\nBaseline & 12.0 \\\\\nOurs & 9.0 \\\\\n"
        "Ours-small & 7.5 \\\\ Ours-tiny & 6.0 \\\\\n\\end{tabular}\\end{table}\nAs Table~\\ref{tab:mem} shows."
    )
    memory = [
        {
            "name": "Memory",
            "result": {
                "table": [
                    ["Method", "GB"],
                    ["Baseline", "12.0"],
                    ["Ours", "9.0"],
                    ["Ours-small", "7.5"],
                    ["Ours-tiny", "6.0"],
                ]
            },
        }
    ]
    items = result_items(memory)
    assert list(shown_by_model(table, items)) == [1]
    source, _ = build_main_tex(
        Paper(title="T", latex=table, experimental_results=memory, results_simulated=False), False
    )
    # the model's table carries our label and the one its text uses; ours is not printed
    assert "\\caption{Memory use}\\label{tab:results-1}\\label{tab:mem}" in source
    assert source.count("\\begin{table}") == 1 and "Table~\\ref{tab:results-1} (in the text)." in source
