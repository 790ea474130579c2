"""The CycleResearcher formats: turn 3 (idea, self-scores, main LaTeX, setup JSON), turn 4
(simulated results) and turn 5 (the results LaTeX), and the one-shot paper holding all three."""

from __future__ import annotations

from .algebra import Cls, Free, Lit, Node, Rep, seq
from .slots import INT_OPEN, SELF_SCORE, Bounds, Kit, Profile


def _json_list(kit: Kit, item: Node) -> Node:
    if kit.open:
        return Free()
    return seq("[", item, Rep(seq(", ", item), 0, kit.b.experiments - 1), "]")


def _fence_close(kit: Kit) -> Node:
    return Lit("```") if kit.open else Lit("\n```")  # real JSON blocks end glued: ...}]```


def _jstr(kit: Kit, hi: int) -> Node:
    return seq('"', kit.words(hi), '"')


def _latex_block(kit: Kit, sections: tuple[str, ...], head: Node | None = None) -> Node:
    if kit.open:
        return seq("```latex", Free(), "```")
    parts: list[Node | str] = ["```latex\n"]
    if head is not None:
        parts.append(head)
    for i, name in enumerate(sections):
        parts += [("\n\n" if i or head is not None else "") + f"\\section{{{name}}}\n\n", kit.paras()]
    parts.append("\n```")
    return seq(*parts)


def researcher_stage1(profile: Profile = "bounded", bounds: Bounds | None = None) -> Node:
    """Turn 3: idea, self-scores, main LaTeX (title, abstract, sections) and the setup JSON."""
    kit = Kit(profile, bounds or Bounds())
    score = INT_OPEN if kit.open else SELF_SCORE
    head = seq(
        "\\title{", kit.words(kit.b.title_words), "}\n\n\\begin{abstract}\n", kit.para(), "\n\\end{abstract}"
    )
    experiment = seq('{"name": ', _jstr(kit, 8), ', "description": ', _jstr(kit, kit.b.words), "}")
    return seq(
        kit.ws(),
        "## Motivation\n\n", kit.para(),
        "\n\n## Main Idea\n\n", kit.para(),
        "\n\n## Interestingness\n\n", score,
        "\n\n## Feasibility\n\n", score,
        "\n\n## Novelty\n\n", score,
        "\n\n", _latex_block(kit, ("Introduction", "Related Work", "Method"), head),
        kit.ws(), "\n\n## Experimental Setup\n\n```json\n", _json_list(kit, experiment), _fence_close(kit),
    )  # fmt: skip


def researcher_turn5(profile: Profile = "bounded", bounds: Bounds | None = None) -> Node:
    """Turn 5: the results LaTeX (after real or simulated results)."""
    kit = Kit(profile, bounds or Bounds())
    return seq(kit.ws(), _latex_block(kit, ("Experiments", "Results", "Conclusion")), kit.ws())


def researcher_results(profile: Profile = "bounded", bounds: Bounds | None = None) -> Node:
    """Turn 4 written by the model itself (simulated results) followed by turn 5."""
    kit = Kit(profile, bounds or Bounds())
    cell = _jstr(kit, 4)
    number = seq('"', Cls("1-9"), Rep(Cls("0-9"), 0, 1), ".", Cls("0-9"), '"')
    row = seq("[", cell, ", ", number, "]")
    table = seq('[["Method", "Score"], ', row, Rep(seq(", ", row), 0, 2), "]")
    item = seq('{"name": ', _jstr(kit, 8), ', "result": {"table": ', table, ', "description": ',
               _jstr(kit, kit.b.words), "}}")  # fmt: skip
    return seq(
        kit.ws(), "## Experimental_results\n\n```json\n", _json_list(kit, item), _fence_close(kit),
        kit.ws() if kit.open else Lit("\n\n"), researcher_turn5(profile, bounds),
    )  # fmt: skip


def researcher_paper(profile: Profile = "bounded", bounds: Bounds | None = None) -> Node:
    """A whole one-shot generation (EOS ignored upstream): turn 3, turn 4 and turn 5."""
    sep: Node = Kit(profile, bounds or Bounds()).ws() if profile == "open" else Lit("\n\n")
    return seq(researcher_stage1(profile, bounds), sep, researcher_results(profile, bounds))
