"""Claim: every real output of the released 12B model compiles to a PDF with no unresolved
citation or reference, and the export's PDF status says so truthfully.

    CYCLERESEARCHER_FIXTURES=../shared/fixtures python3 benchmarks/replay_pdfs.py [--label before]

The real outputs (read from the fixtures, never committed): the six training conversations taken
through ``research complete`` (turn 3 parsed as stage 1, completed with the record's own results
JSON and turn-5 LaTeX, the references block as the bibliography) and the generated LaTeX body
``researcher_010_latex.txt`` with the tutorial references. Each is exported as the CLI exports it
(``export_latex_project``); the script counts ``[?]`` (unresolved citations) and ``??``
(unresolved references) in ``pdftotext`` of the PDF, the log's undefined citations/references,
and reports the status the export gives and the wall time of the compile.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, cpu_model, machine  # noqa: E402

from cycleresearcher.paper.export import export_latex_project  # noqa: E402
from cycleresearcher.paper.parse import complete_paper, parse_stage1  # noqa: E402
from cycleresearcher.paper.record import Paper  # noqa: E402
from cycleresearcher.references import load_references  # noqa: E402
from cycleresearcher.references.bibexport import to_bibtex  # noqa: E402

INSTRUCTION_START = "The above content represents the relevant literature in this field."


def real_outputs(fixtures: Path) -> list[tuple[str, Paper]]:
    """(name, Paper) for every replayed real output of the fixtures."""
    out = []
    for path in sorted((fixtures / "research").glob("conversation_*.json")):
        msgs = json.loads(path.read_text(encoding="utf-8"))["messages"]
        user = msgs[1]["content"]
        cut = user.rfind(INSTRUCTION_START)
        refs = user[:cut] if cut > 0 else user
        stage1 = parse_stage1(msgs[2]["content"])
        paper = complete_paper(
            stage1, msgs[3]["content"].split("```json", 1)[-1].rsplit("```", 1)[0], msgs[4]["content"]
        )
        paper.references_bib = to_bibtex(load_references(refs.encode("utf-8"), name=path.stem, strict=False))
        paper.meta = {"stage": "complete"}
        out.append((path.stem, paper))
    body = (fixtures / "research" / "researcher_010_latex.txt").read_text(encoding="utf-8")
    bib = to_bibtex(load_references(fixtures / "references" / "references_tutorial.bib"))
    title = re.search(r"\\title\{([^}]*)\}", body)
    out.append(
        (
            "researcher_010",
            Paper(
                title=title.group(1) if title else "",
                latex=body,
                references_bib=bib,
                meta={"stage": "complete"},
            ),
        )
    )
    return out


def unresolved(pdf: Path) -> tuple[int, int]:
    """(``[?]`` count, ``??`` count) in the PDF's text."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    cites = len(re.findall(r"\[\s*\?", text))  # natbib's numbers: "[?]", "[? ]", "[?, ?]"
    refs = len(re.findall(r"\?\?", text))
    return cites, refs


def measure(name: str, paper: Paper, work: Path) -> dict:
    start = time.perf_counter()
    result = export_latex_project(paper, work / name)
    elapsed = time.perf_counter() - start
    row = {"name": name, "seconds": round(elapsed, 1), "pdf": bool(result.pdf)}
    status = getattr(result, "status", None)
    row["status"] = status.label() if status is not None else ("yes" if result.pdf else "no")
    if result.pdf:
        row["cites_unresolved"], row["refs_unresolved"] = unresolved(result.pdf)
    row["errors"] = sum(1 for ln in result.log_excerpt.splitlines() if ln.startswith("!"))
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="after", help="which column this run fills (before / after)")
    args = parser.parse_args()
    fixtures = Path(os.environ.get("CYCLERESEARCHER_FIXTURES", "../shared/fixtures"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, paper in real_outputs(fixtures):
            rows.append(measure(name, paper, Path(tmp)))
            print(rows[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "replay_pdfs.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[args.label] = rows
    data[f"{args.label}_load"] = round(os.getloadavg()[0], 1)  # the 1-minute load as the run ended
    data["machine"] = machine()
    path.write_text(json.dumps(data, indent=2) + "\n")
    lines = table(data)
    (RESULTS / "replay_pdfs.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def table(data: dict) -> list[str]:
    """The before/after table of ``data`` (rows keyed by label) as Markdown."""
    before = {r["name"]: r for r in data.get("before", [])}
    after = {r["name"]: r for r in data.get("after", [])}

    def cell(r: dict | None, key: str) -> str:
        if r is None:
            return "-"
        if not r["pdf"]:
            return "no PDF"
        return str(r.get(key, "-"))

    lines = [
        "# Replayed real outputs of the 12B model: their PDFs before and after (benchmarks/replay_pdfs.py)",
        "",
        f"CPU: {cpu_model()} ({data['machine']['cpus']} cores, shared with other jobs: times are indicative). "
        "`[?]`: unresolved citations and `??`: unresolved references in `pdftotext` of the PDF; "
        "errors: TeX errors in the log of the last pass; status: what the CLI's pdf column says. "
        f"Load average as each run ended: before {data.get('before_load', '?')}, after {data.get('after_load', '?')}.",
        "",
        "before: the exporter at the branch point (latexmk -f, which stops before its last pass after "
        "one TeX error; run with `PYTHONPATH` set to that commit's `src`); after: this exporter (its "
        "own pdflatex/BibTeX passes, the repairs and rescue of docs/papers.md). The after times include "
        "the rescue pass where one is needed and the charts (matplotlib).",
        "",
        "| output | [?] before | [?] after | ?? before | ?? after | TeX errors before | after "
        "| status before | status after | compile s before | after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in after or before:
        b, a = before.get(name), after.get(name)
        lines.append(
            f"| {name} | {cell(b, 'cites_unresolved')} | {cell(a, 'cites_unresolved')} | "
            f"{cell(b, 'refs_unresolved')} | {cell(a, 'refs_unresolved')} | {b['errors'] if b else '-'} | "
            f"{a['errors'] if a else '-'} | {b['status'] if b else '-'} | {a['status'] if a else '-'} | "
            f"{b['seconds'] if b else '-'} | {a['seconds'] if a else '-'} |"
        )
    return lines


if __name__ == "__main__":
    main()
