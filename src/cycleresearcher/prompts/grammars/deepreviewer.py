"""The DeepReviewer formats: fast (``\\boxed_review``), standard and best (simulated reviewers,
verification, final review; best adds a first turn of questions and analysis)."""

from __future__ import annotations

from .algebra import Cls, Free, Lit, Node, Rep, Rule, seq
from .slots import DEC_RATING, DEC_SCORE, Bounds, Kit, Profile, score, slot

_DR_SIM = (("Summary", "p"), ("Soundness", "s"), ("Presentation", "s"), ("Contribution", "s"),
           ("Strengths", "p"), ("Weaknesses", "p"), ("Suggestions", "p"), ("Questions", "p"),
           ("Rating", "r"), ("Confidence", "c"))  # fmt: skip


def _final_review(kit: Kit) -> Node:
    parts: list[Node | str] = ["\\boxed_review{\n"]
    for i, (name, kind) in enumerate(_DR_SIM):
        value = {"s": score(kit, DEC_SCORE), "r": score(kit, DEC_RATING), "c": score(kit, DEC_SCORE)}.get(
            kind, kit.para()
        )
        parts += [("" if i == 0 else "\n\n") + f"## {name}:\n\n", value]
    parts += ["\n\n## Decision:\n\n", slot(kit, "d"), "\n}"]
    return Rule("finalreview", seq(*parts))


def _block(kit: Kit, name: str, body: Node) -> Node:
    if kit.open:  # real blocks may close on the last line of text ("...applications.}")
        return seq(f"\\boxed_{name}{{", Free(), "}")
    return seq(f"\\boxed_{name}{{\n", body, "\n}")


def _simreviewers(kit: Kit) -> Node:
    def reviewer(i: int | None) -> Node:
        parts: list[Node | str] = ["## Reviewer ", Rep(Cls("0-9"), 1, 2) if i is None else str(i), "\n\n"]
        for j, (name, kind) in enumerate(_DR_SIM):
            parts += [("" if j == 0 else "\n\n") + f"### {name}\n\n", slot(kit, kind)]
        return seq(*parts)

    sep = "\n\n**********\n\n"
    if kit.open:
        body: Node = seq(kit.ws(), reviewer(None), Rep(seq(Free(), reviewer(None)), 0, None), Free())
    else:
        body = seq(*[x for i in range(1, kit.b.reviewers + 1) for x in ((sep if i > 1 else ""), reviewer(i))])
    return _block(kit, "simreviewers", body)


def _gap(kit: Kit) -> Node:
    return Free() if kit.open else Lit("\n\n")


def deepreviewer(mode: str = "standard", profile: Profile = "bounded", bounds: Bounds | None = None,
                 turn: int = 2) -> Node:  # fmt: skip
    """Fast: ``\\boxed_review``. Standard and Best turn 2: simulated reviewers, verification,
    final review. Best turn 1: three questions and the analysis."""
    kit = Kit(profile, bounds or Bounds())
    lead = Free() if kit.open else Lit("")
    if mode == "fast":
        return seq(lead, _final_review(kit), kit.ws() if not kit.open else Free())
    if mode == "best" and turn == 1:
        question = kit.words(20) if not kit.open else Free()
        qs = seq(question, "\n", question, "\n", question) if not kit.open else Free()
        return seq(
            lead,
            _block(kit, "questions", qs),
            _gap(kit),
            _block(kit, "analysis", kit.para()),
            Free() if kit.open else Lit(""),
        )
    if mode not in ("standard", "best"):
        raise ValueError(f"unknown DeepReviewer mode {mode!r}")
    return seq(
        lead, _simreviewers(kit), _gap(kit), _block(kit, "verification", kit.para()), _gap(kit),
        _final_review(kit), Free() if kit.open else Lit(""),
    )  # fmt: skip
