"""What `research` checks before any model loads: the engine a run folder was generated with,
whether a completion's files are those of its stored record, and whether references fit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._common import console

if TYPE_CHECKING:
    from ..references import ReferenceSet


def run_engine(run: Path) -> tuple[str | None, str | None, str | None]:
    """(model, engine, base_url) of the run's first stored paper; Nones when it names none."""
    from ..errors import StoreError
    from ..store import RunStore

    try:
        with RunStore(run, create=False) as store:
            metas = [rec.get("meta") or {} for _, rec in store.items("paper")]
    except StoreError:
        return None, None, None  # the researcher opens it again and says what is wrong
    desc = next((m["engine"] for m in metas if isinstance(m.get("engine"), dict)), {})
    name = desc.get("engine") or None
    url = desc.get("base_url") if name == "openai" else None
    return desc.get("model") or None, name, url or None


def done_with(paper, data) -> bool:
    """Completed with exactly these real results (a rerun of the same `complete`)."""
    import json

    if (paper.meta or {}).get("stage") == "awaiting_results" or paper.results_simulated:
        return False
    return json.dumps(paper.experimental_results, sort_keys=True) == json.dumps(data, sort_keys=True)


def files_current(paper, run: Path, pdf: bool) -> bool:
    """paper.json on disk is the stored record, paper.md is there and (if asked) main.pdf too."""
    import json

    folder = run / "papers" / str(paper.id)
    try:
        record = json.loads((folder / "paper.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, or cut short by the kill
        return False
    if (
        not isinstance(record, dict)
        or {k: v for k, v in record.items() if k != "disclosure"} != paper.to_dict()
    ):
        return False
    import shutil

    no_tex = shutil.which("pdflatex") is None  # no PDF can come out: a missing one is not stale
    return (folder / "paper.md").is_file() and (
        not pdf or no_tex or (folder / "latex" / "main.pdf").is_file()
    )


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
