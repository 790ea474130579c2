"""The rule over a review summary keeps the paper's id in view: a long title pushed it out
("Optimized ... outsourced comput… ─" and no id), so two reviews could not be told apart."""

from __future__ import annotations

import io

import pytest

from cycleresearcher.review.context import PaperInput
from cycleresearcher.review.records import Review
from cycleresearcher.review.runner import ReviewOutcome
from cycleresearcher.review.summary import summary_renderable

TITLE = "A Rather Long Title About Lighthouses, Harbours and the Schedules of Ferries in Winter Storms"


def heading(title: str, width: int) -> str:
    from rich.console import Console

    outcome = ReviewOutcome(PaperInput("lighthouse-paper-1a2b3c4d", "text", title), Review.from_dict({}), "m", "m")
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(summary_renderable(outcome))
    return console.file.getvalue().splitlines()[0]


@pytest.mark.parametrize("width", [60, 80, 100])
def test_a_long_title_is_cut_and_the_id_stays(width: int):
    line = heading(TITLE, width)
    assert len(line) <= width
    assert "(lighthouse-paper-1a2b3c4d)" in line and line.startswith("A Rather Long Title")
    assert "…" in line


def test_a_short_title_is_whole_and_brackets_are_text():
    line = heading("Ferries [in winter]", 80)
    assert line.startswith("Ferries [in winter] (lighthouse-paper-1a2b3c4d) ─")
