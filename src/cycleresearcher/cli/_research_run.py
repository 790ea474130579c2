"""What a `research` run folder already holds, read before any model loads: the engine it was
generated with, and whether a completion's files are those of its stored record."""

from __future__ import annotations

from pathlib import Path


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
