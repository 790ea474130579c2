"""What `research` checks before any model loads: the engine a run folder was generated with,
whether a completion's files are those of its stored record, and whether references fit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..paper.record import Stage
from ._common import console

if TYPE_CHECKING:
    from ..references import ReferenceSet


def done_with(paper, data) -> bool:
    """Completed with exactly these real results (a rerun of the same `complete`)."""
    import json

    if paper.stage is Stage.AWAITING_RESULTS or paper.results_simulated:
        return False
    return json.dumps(paper.experimental_results, sort_keys=True) == json.dumps(data, sort_keys=True)


def say_budget(
    sets: list[ReferenceSet], model: str | None, max_tokens: int | None, drop_to_fit: bool
) -> None:
    """For a released CycleResearcher model (a known context), one line per reference set that is
    over its budget: the estimated count and the way out. The exact count, with the model's
    tokenizer, still decides before generation."""
    from ..models import UPSTREAM_CONTEXT, model_kind
    from ..references import render_references
    from ..references.budget import check_budget
    from ..references.explain import UPSTREAM_NEW_TOKENS

    if model is None or model_kind(model) != "released":
        return
    for rs in sets:
        check = check_budget(
            render_references(rs), UPSTREAM_CONTEXT["researcher"], max_tokens or UPSTREAM_NEW_TOKENS
        )
        if not check.fits:
            label = rs.sources[0] if rs.sources else "references"
            console.print(f"[yellow]warning[/] {check.line(label, dropping=drop_to_fit)}")
