"""The Paper record: one generated paper, with the model card's keys in ``to_dict()``.

Parsed from a generation by ``paper.parse``; read back from JSON by ``Paper.from_dict``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..errors import InputError

_INT = re.compile(r"[-+]?\d+(?:\.\d+)?")

#: PdfStatus.state values: a PDF whose last TeX pass reported nothing wrong; a PDF with TeX errors
#: or undefined citations / references left; no PDF (TeX failed or timed out); not compiled
PDF_STATES = ("ok", "problems", "failed", "not_compiled")


@dataclass(frozen=True)
class PdfStatus:
    """Whether the exported PDF is right: ``ok`` only when the log of its last pass has no error
    and no undefined citation or reference; ``problems`` lists them (first one first)."""

    state: str
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def label(self) -> str:
        """One line for the CLI summary, paper.md and the web page."""
        first = self.problems[0] if self.problems else ""
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        if self.state == "ok":
            return "yes"
        if self.state == "problems":
            return f"PDF with problems: {first}{more}"
        return f"no: {first or 'no PDF'}"

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "problems": list(self.problems), "label": self.label()}

    @classmethod
    def from_dict(cls, data: Any) -> PdfStatus | None:
        if data is None:
            return None
        if not isinstance(data, dict) or data.get("state") not in PDF_STATES:
            raise InputError(
                f"Paper field 'pdf_status' must be an object with a state in {', '.join(PDF_STATES)}, "
                f"not {str(data)[:60]!r}. Remove the field (it is rewritten by the next export)."
            )
        problems = data.get("problems") or []
        if not isinstance(problems, list):
            raise InputError("Paper field 'pdf_status.problems' must be a list of text.")
        return cls(str(data["state"]), tuple(str(x) for x in problems))


class Stage(str, Enum):
    """How far a generated paper is (``Paper.meta["stage"]``; a ``str`` so stored records read as before)."""

    #: two-stage: the plan is written; the results section waits for the user's real results
    AWAITING_RESULTS = "awaiting_results"
    #: every section written (results simulated, or completed with real ones)
    COMPLETE = "complete"

    @classmethod
    def of(cls, meta: dict[str, Any] | None) -> Stage:
        """A record's stage; a paper with none (written by hand, an older run) is complete."""
        value = (meta or {}).get("stage")
        return cls.AWAITING_RESULTS if value == cls.AWAITING_RESULTS.value else cls.COMPLETE


@dataclass
class Paper:
    """One generated paper. ``to_dict()`` gives the model card's keys at the top level."""

    title: str = ""
    abstract: str = ""
    latex: str = ""  # full LaTeX body: main part (turn 3) + results part (turn 5)
    motivation: str = ""
    idea: str = ""
    interestingness: int | None = None
    feasibility: int | None = None
    novelty: int | None = None
    experimental_setup: Any = None  # parsed JSON (usually a list of experiments) or None
    experimental_results: Any = None  # parsed JSON or None
    results_latex: str = ""  # turn-5 LaTeX (Experiments / Results / Conclusion)
    generated_text: str = ""  # raw model output
    warnings: list[str] = field(default_factory=list)
    results_simulated: bool = True  # True when the model wrote its own "results" (EOS ignored)
    id: str | None = None
    topic: str | None = None
    references_bib: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # Numbers of results_latex that match no supplied result (grounding.GROUNDING_RULE), as
    # {"number", "context"}; None when not checked (no results of the documented shape).
    ungrounded_numbers: list[dict[str, str]] | None = None
    grounding: dict[str, Any] | None = None  # {"checked", "grounded", "rule"}
    pdf_status: PdfStatus | None = None  # set by the LaTeX export; None when no PDF was asked for

    @property
    def stage(self) -> Stage:
        return Stage.of(self.meta)

    @property
    def main_latex(self) -> str:
        """The turn-3 LaTeX (title .. method), i.e. ``latex`` without the results part."""
        if self.results_latex and self.latex.endswith(self.results_latex):
            return self.latex[: len(self.latex) - len(self.results_latex)].rstrip()
        return self.latex

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "abstract": self.abstract,
            "latex": self.latex,
            "motivation": self.motivation,
            "idea": self.idea,
            "interestingness": self.interestingness,
            "feasibility": self.feasibility,
            "novelty": self.novelty,
            "Experimental_Setup": self.experimental_setup,
            "Experimental_results": self.experimental_results,
            "generated_text": self.generated_text,
            "warnings": list(self.warnings),
            "results_simulated": self.results_simulated,
            "results_latex": self.results_latex,
            "id": self.id,
            "topic": self.topic,
            "references_bib": self.references_bib,
            "meta": dict(self.meta),
            "ungrounded_numbers": self.ungrounded_numbers,
            "grounding": self.grounding,
            "pdf_status": self.pdf_status.to_dict() if self.pdf_status else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Paper:
        """Inverse of ``to_dict``; also accepts snake_case setup/results keys. Unknown keys are ignored."""

        def pick(*keys: str, default: Any = None) -> Any:
            for key in keys:
                if key in data:
                    return data[key]
            return default

        def wrong(key: str, want: str, value: Any) -> InputError:
            return InputError(
                f"Paper field '{key}' must be {want}, not {type(value).__name__} ({str(value)[:40]!r}). "
                "Fix the JSON, or export a file written by `cycleresearcher research generate` / `paper parse`."
            )

        def text(*keys: str) -> str:
            value = pick(*keys, default="")
            if value is None:
                return ""
            if not isinstance(value, str):
                raise wrong(keys[0], "text", value)
            return value

        def optional_text(key: str) -> str | None:
            value = pick(key)
            if value is None or isinstance(value, str):
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)  # an id written as a number
            raise wrong(key, "text", value)

        if not isinstance(data, dict):
            raise InputError(f"A Paper record must be a JSON object, not {type(data).__name__}.")
        warnings = pick("warnings", default=[]) or []
        if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
            raise wrong("warnings", "a list of text", warnings)
        meta = pick("meta", default={}) or {}
        if not isinstance(meta, dict):
            raise wrong("meta", "an object", meta)
        simulated = pick("results_simulated", default=True)
        if not isinstance(simulated, bool):
            raise wrong("results_simulated", "true or false", simulated)
        return cls(
            title=text("title"),
            abstract=text("abstract"),
            latex=text("latex"),
            motivation=text("motivation"),
            idea=text("idea", "main_idea"),
            interestingness=as_int(pick("interestingness")),
            feasibility=as_int(pick("feasibility")),
            novelty=as_int(pick("novelty")),
            experimental_setup=pick("Experimental_Setup", "experimental_setup"),
            experimental_results=pick("Experimental_results", "experimental_results"),
            results_latex=text("results_latex"),
            generated_text=text("generated_text"),
            warnings=list(warnings),
            results_simulated=simulated,
            id=optional_text("id"),
            topic=optional_text("topic"),
            references_bib=optional_text("references_bib"),
            meta=dict(meta),
            ungrounded_numbers=pick("ungrounded_numbers"),
            grounding=pick("grounding"),
            pdf_status=PdfStatus.from_dict(pick("pdf_status")),
        )


def as_int(value: Any) -> int | None:
    """A self-score as an integer: numbers as they are (rounded), text by its first number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return round(value) if math.isfinite(value) else None  # JSON allows NaN / Infinity
    m = _INT.search(str(value)[:80])
    return round(float(m.group())) if m else None


__all__ = ["PDF_STATES", "Paper", "PdfStatus", "as_int"]
