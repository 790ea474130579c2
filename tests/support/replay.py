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
