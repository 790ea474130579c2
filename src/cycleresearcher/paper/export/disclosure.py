"""What every export says about the paper: written by a language model, and, when the model
wrote its own "results" (EOS ignored), that they were simulated, not measured."""

from __future__ import annotations

from typing import TYPE_CHECKING

DISCLOSURE = (
    "AI-generated text: this paper was written by a language model (CycleResearcher) from a list of "
    "references. It has not been checked or peer reviewed by people; claims, citations and numbers may be wrong."
)
SIMULATED_NOTICE = "Results simulated by the model, not measured: no experiment in this paper was run."
#: a simulated paper whose generation stopped before any results (no block, no results LaTeX)
NO_RESULTS_NOTICE = "No results were written: the generation stopped before them; no experiment in this paper was run."
#: a two-stage paper waiting for the user's real results
PENDING_NOTICE = "Results pending: the experiments are planned, their real results not yet supplied."

if TYPE_CHECKING:
    from ..record import Paper


def results_notice(paper: Paper) -> str | None:
    """What the exports say about the paper's results: pending, none written, or simulated;
    None for real results."""
    from ..record import Stage

    if paper.stage is Stage.AWAITING_RESULTS:
        return PENDING_NOTICE
    if not paper.results_simulated:
        return None
    if paper.experimental_results is None and not paper.results_latex.strip():
        return NO_RESULTS_NOTICE
    return SIMULATED_NOTICE


__all__ = ["DISCLOSURE", "NO_RESULTS_NOTICE", "PENDING_NOTICE", "SIMULATED_NOTICE", "results_notice"]
