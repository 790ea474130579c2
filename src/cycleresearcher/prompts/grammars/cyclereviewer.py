"""The CycleReviewer formats: A (8B / 70B) and B (123B)."""

from __future__ import annotations

from .algebra import Node, Rep, Rule, seq
from .slots import Bounds, Kit, Profile, slot

_CR_FIELDS = (("Summary", "p"), ("Soundness", "s"), ("Presentation", "s"), ("Contribution", "s"),
              ("Strengths", "p"), ("Weaknesses", "p"), ("Questions", "p"),
              ("Flag For Ethics Review", "e"), ("Rating", "r"), ("Confidence", "c"))  # fmt: skip


def cyclereviewer(profile: Profile = "bounded", bounds: Bounds | None = None, fmt: str = "a") -> Node:
    """Format A (8B / 70B: ``## Field`` reviews split by ``**********``) or B (123B: ``## Reviewer``
    + ``### Field``); then ``## Meta Review`` and ``## Paper Decision``."""
    kit = Kit(profile, bounds or Bounds())
    level = "##" if fmt == "a" else "###"
    parts: list[Node | str] = []
    for i, (name, kind) in enumerate(_CR_FIELDS):
        parts += [("" if i == 0 else "\n\n") + f"{level} {name}\n\n", slot(kit, kind)]
    review = Rule(f"review{fmt}", seq(*parts))
    if fmt == "b":
        review = Rule("reviewb-h", seq("## Reviewer\n\n", review))
    sep = "\n\n**********\n\n" if fmt == "a" else "\n\n"
    many = (
        Rep(seq(sep, review), 0, None)
        if kit.open
        else Rep(seq(sep, review), kit.b.reviewers - 1, kit.b.reviewers - 1)
    )
    return seq(
        kit.ws(), review, many,
        "\n\n" if fmt == "b" else "\n\n**********\n\n" if not kit.open else kit.ws(),
        "## Meta Review\n\n", kit.para(), "\n\n## Paper Decision\n\n", slot(kit, "d"), kit.ws(),
    )  # fmt: skip
