"""``references render --explain``: what reaches the prompt from a reference set, and why not the rest."""

from __future__ import annotations

from collections import Counter

from ..models import UPSTREAM_CONTEXT
from ..models.embedded import EMBEDDED
from .budget import check_budget
from .clean import PROMPT_FIELDS
from .record import ReferenceSet

#: the released CycleResearcher models: 60,000 tokens of context, 19,000 of them for the paper
UPSTREAM_NEW_TOKENS = 19000


def dropped_counts(refs: ReferenceSet) -> list[tuple[str, int, str]]:
    """``(field, entries, reason)`` for every field left out, most frequent first."""
    counts: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {}
    for r in refs:
        for name, reason in r.dropped.items():
            counts[name] += 1
            reasons.setdefault(name, Counter())[reason] += 1
    return [(name, n, reasons[name].most_common(1)[0][0]) for name, n in counts.most_common()]


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def explain_references(
    refs: ReferenceSet,
    block: str,
    context: int = UPSTREAM_CONTEXT["researcher"],
    max_new: int = UPSTREAM_NEW_TOKENS,
) -> str:
    label = ", ".join(refs.sources) or "<references>"
    with_abstract = sum(1 for r in refs if r.abstract)
    placeholders = sum(1 for r in refs if r.dropped.get("abstract", "").startswith("a placeholder"))
    lines = [
        f"{label}: {_count(len(refs), 'reference')} in the prompt"
        + (
            f"; {_count(refs.skipped, 'entry', 'entries')} skipped (they cannot be read; see the warnings)"
            if refs.skipped
            else ""
        )
        + (f"; {_count(refs.merged, 'copy', 'copies')} of a work merged into its fuller entry" if refs.merged else "")
        + (f"; {_count(refs.renamed, 'entry', 'entries')} renamed (its key was another work's)" if refs.renamed else ""),
        f"abstracts: {with_abstract} of {len(refs)}"
        + (
            f" ({placeholders} placeholders such as 'Not Available' count as missing)" if placeholders else ""
        ),
        "fields kept (those of the training layout): "
        + ", ".join(sorted(PROMPT_FIELDS - {"abstract"}))
        + "; abstract moves to its 'Abstract:' line",
    ]
    dropped = dropped_counts(refs)
    if dropped:
        lines.append("left out of the prompt and of references.bib:")
        width = max(len(name) for name, _, _ in dropped)
        for name, n, reason in dropped:
            lines.append(f"  {name:<{width}}  {n:>6} {'entry  ' if n == 1 else 'entries'}  {reason}")
    else:
        lines.append("left out of the prompt and of references.bib: nothing")
    lines.append(check_budget(block, context, max_new).line("prompt (CycleResearcher 12B/72B/123B)"))
    # the default model (no --model): the quick start's, with its far smaller context
    embedded = check_budget(block, EMBEDDED.context, EMBEDDED.paper_constrained_max_tokens)
    lines.append(embedded.line("prompt (the default embedded SmolLM2-135M)"))
    lines.append(
        f"  estimated at 3 characters a token from {len(block):,} characters; the exact count is taken with "
        "the model's tokenizer before generation"
    )
    return "\n".join(lines) + "\n"
