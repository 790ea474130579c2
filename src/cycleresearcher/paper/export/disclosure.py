"""What every export says about the paper: written by a language model, and, when the model
wrote its own "results" (EOS ignored), that they were simulated, not measured."""

from __future__ import annotations

DISCLOSURE = (
    "AI-generated text: this paper was written by a language model (CycleResearcher) from a list of "
    "references. It has not been checked or peer reviewed by people; claims, citations and numbers may be wrong."
)
SIMULATED_NOTICE = "Results simulated by the model, not measured: no experiment in this paper was run."


__all__ = ["DISCLOSURE", "SIMULATED_NOTICE"]
