"""The check's files: ``novelty.json`` / ``novelty.md`` for any subject, and for a paper of a run
its place in the run (the store's ``novelty`` record, the paper record's meta, paper.json,
paper.md). Used by the CLI (``research novelty``, ``generate --novelty``) and the web page."""

from __future__ import annotations

import json
import re
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from .records import NoveltyReport
from .report import novelty_markdown, splice_markdown


def slug(label: str) -> str:
    """A file name from a label (a path with ``#key``, ``idea 1``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_")[-80:] or "subject"


def write_report(report: NoveltyReport, target: Path) -> Path:
    """novelty.json and novelty.md in ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    data = report.to_dict()
    (target / "novelty.json").write_text(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (target / "novelty.md").write_text("\n".join(novelty_markdown(data, "#")) + "\n", encoding="utf-8")
    return target


def save_to_run(run: Path, report: NoveltyReport, store: Any = None) -> None:
    """The report in the run store (kind ``novelty``), in the paper record's meta, and in the
    paper's files: papers/<id>/novelty.json, novelty.md, paper.json and paper.md. ``store``: the
    run's open store (``research generate --novelty``), else one is opened."""
    from ..paper.export import export_json
    from ..paper.record import Paper
    from ..store import RunStore

    key = report.subject.label.rsplit("#", 1)[-1]
    data = report.to_dict()
    with RunStore(run, create=False) if store is None else nullcontext(store) as db:
        db.put("novelty", key, data)
        record = db.get("paper", key) or {}
        record["meta"] = {**(record.get("meta") or {}), "novelty_check": data}
        db.put("paper", key, record)
    folder = run / "papers" / key
    if not folder.is_dir():  # a run whose files were never exported (a failed sample): the store holds it
        return
    write_report(report, folder)
    export_json(Paper.from_dict(record), folder / "paper.json")
    md = folder / "paper.md"
    if md.is_file():  # spliced, so that the figures and everything else stay as exported
        md.write_text(
            splice_markdown(md.read_text(encoding="utf-8"), novelty_markdown(data)), encoding="utf-8"
        )


__all__ = ["save_to_run", "slug", "write_report"]
