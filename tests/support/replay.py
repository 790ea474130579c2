"""Helpers of the replay tests (tests/replay/): the released model names they point the CLI and the
web page at, and the fixture records laid out as a user would pass them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .replay_server import INSTRUCTION_START

RESEARCHER = "WestlakeNLP/CycleResearcher-ML-12B"
CYCLEREVIEWER = "WestlakeNLP/CycleReviewer-ML-Llama3.1-8B"
CYCLEREVIEWER_PRO = "WestlakeNLP/CycleReviewer-ML-Pro-123B"
DEEPREVIEWER = "WestlakeNLP/DeepReviewer-14B"


def conversation(fixtures_dir: Path, i: int) -> list[dict[str, str]]:
    return json.loads((fixtures_dir / "research" / f"conversation_{i:03d}.json").read_text())["messages"]


def references_file(fixtures_dir: Path, i: int, folder: Path) -> Path:
    """The references block the 12B model saw in record ``i`` as the .bib file a user passes (the
    training layout: an ``Abstract:`` line before its entry), written into ``folder`` (a tmp dir)."""
    user = conversation(fixtures_dir, i)[1]["content"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"refs_{i:03d}.bib"
    path.write_text(user[: user.rfind(INSTRUCTION_START)], encoding="utf-8")
    return path


def fenced(text: str, lang: str) -> str:
    """The body of the first ```lang fence (read from the fixture itself, not by our parser)."""
    m = re.search(rf"```{lang}\n(.*?)```", text, re.S)
    assert m, lang
    return m.group(1).strip()


def section(text: str, header: str) -> str:
    m = re.search(rf"^## {header}\s*\n(.*?)(?=^## |^```)", text, re.S | re.M)
    assert m, header
    return m.group(1).strip()


def title_of(latex: str) -> str:
    m = re.search(r"\\title\{(.*)\}\s*$", latex.split("\\begin{abstract}")[0], re.S)
    assert m
    return " ".join(m.group(1).split())


def completed_paper(fixtures_dir: Path, i: int):
    """Record ``i`` as ``research complete`` makes it: turn 3 parsed as stage 1, completed with the
    record's own results JSON and turn-5 LaTeX, its references block as the bibliography."""
    from cycleresearcher.paper.parse import complete_paper, parse_stage1
    from cycleresearcher.references import load_references
    from cycleresearcher.references.bibexport import to_bibtex

    msgs = conversation(fixtures_dir, i)
    user = msgs[1]["content"]
    refs = load_references(
        user[: user.rfind(INSTRUCTION_START)].encode("utf-8"), name=f"record {i}", strict=False
    )
    paper = complete_paper(
        parse_stage1(msgs[2]["content"]), fenced(msgs[3]["content"], "json"), msgs[4]["content"]
    )
    paper.references_bib = to_bibtex(refs)
    paper.meta = {"stage": "complete"}
    return paper


def generated_body_paper(fixtures_dir: Path):
    """The generated LaTeX body ``researcher_010_latex.txt`` with the tutorial references."""
    from cycleresearcher.paper import Paper
    from cycleresearcher.references import load_references
    from cycleresearcher.references.bibexport import to_bibtex

    body = (fixtures_dir / "research" / "researcher_010_latex.txt").read_text(encoding="utf-8")
    bib = to_bibtex(load_references(fixtures_dir / "references" / "references_tutorial.bib"))
    return Paper(title=title_of(body), latex=body, references_bib=bib, meta={"stage": "complete"})
