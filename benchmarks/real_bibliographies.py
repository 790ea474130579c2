"""Real bibliographies through ``load_references``: what loads, what is skipped, what reaches the
prompt and the exported references.bib, and how long loading takes against bibtexparser.

Claims checked on every file (the row's ``ok``): not refused by default where bibtexparser loses
3 entries or fewer; no local path and no bookkeeping field in the prompt or the export (the
rendered block and the export are read back and must have nothing left to drop); the prompt
block reads back with as many entries as were loaded. Speed: load time (best of --repeat) against
``bibtexparser.parse_string`` on the same text, side by side in one run; the 2,398-entry file
must stay <= 1.5x. A synthetic scaling part (our own generated entries, --scaling) times load +
render at 1k / 8k / 100k entries: linear means a flat time per entry.

The corpus is not in the repository (authors' text): ``--rebuild`` extracts it from fetched
mirrors into DIR with the sources list ``benchmarks/real_bibliographies_sources.json``
(repository, path, commit); files of one ``group`` are loaded together (an @string
abbreviations file with the bibliography that uses it).

    .venv/bin/python benchmarks/real_bibliographies.py [DIR] [--rebuild] [--repeat 5] [--scaling 1000,8000,100000]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from pathlib import Path

from _common import cpu_model, write

import cycleresearcher.references as references
from cycleresearcher.errors import ReferencesError
from cycleresearcher.references import load_references, render_references, to_bibtex
from cycleresearcher.references.budget import check_budget
from cycleresearcher.references.explain import UPSTREAM_NEW_TOKENS, dropped_counts

SOURCES = Path(__file__).with_name("real_bibliographies_sources.json")
DEFAULT_DIR = Path("/work/main/.cache/corpus/bib")
MIRRORS = Path("/work/.mirror")
CONTEXT = 60000
#: a path on the user's machine as a value or after a separator, not a URL's /users/ or /home/
LOCAL_PATH = re.compile(r"(?:^|[\s{:;\"=])(?:/Users/|/home/|/Volumes/|[A-Za-z]:\\|file://|~/)")
ENTRY = re.compile(r"^[ \t]*@[ \t]*([A-Za-z]+)[ \t]*[{(]", re.M)


def rebuild(directory: Path) -> None:
    """Extract every source file from its fetched mirror (``git show COMMIT:PATH``)."""
    for s in json.loads(SOURCES.read_text()):
        git = MIRRORS / s["repo"].replace("/", "+") / "repo"
        out = directory / s["name"]
        out.parent.mkdir(parents=True, exist_ok=True)
        data = subprocess.run(
            ["git", "--git-dir", str(git), "show", f"{s['commit']}:{s['path']}"],
            capture_output=True,
            check=True,
        ).stdout
        out.write_bytes(data)
        print(f"{out}: {len(data):,} bytes from {s['repo']}@{s['commit'][:10]}:{s['path']}")


def best_of_both(a, b, repeat: int) -> tuple[float, float]:
    """Best times of ``a`` and ``b`` run alternately (a shared machine's load hits both alike)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((a, times[0]), (b, times[1])):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


def enriched_abstracts(refs) -> dict:
    """Abstracts after enrichment against loopback services seeded from ``refs``
    (``_enrich_loopback.enrich_counts``: some entries by identifier, some by exact title, an
    ambiguous title, a wrong year; 200 of the unknown entries asked, which stay unfilled)."""
    from _enrich_loopback import enrich_counts

    return enrich_counts(refs, unknown=200)


def leftovers(text: str) -> tuple[int, int]:
    """(fields that would still be dropped, entries) when ``text`` is read back: 0 means clean."""
    if not text.strip():
        return 0, 0
    again = load_references(text)
    return sum(len(r.dropped) for r in again), len(again)


def row_for(name: str, paths: list[Path], exporter: str, repeat: int) -> dict:
    import bibtexparser

    texts = [p.read_bytes().decode("utf-8", "replace") for p in paths]
    whole = "\n".join(texts)
    entries = sum(
        1 for m in ENTRY.finditer(whole) if m.group(1).lower() not in ("string", "comment", "preamble")
    )
    lib = bibtexparser.parse_string(whole)
    row: dict = {"file": name, "exporter": exporter, "entries": entries, "bibtexparser": len(lib.entries)}
    source = [str(p) for p in paths] if len(paths) > 1 else str(paths[0])
    try:
        refs = load_references(source)
    except ReferencesError as exc:
        row.update(refused=True, error=str(exc)[:200], ok=entries - len(lib.entries) > 3)
        return row
    try:
        load_references(source, strict=True)
        strict_refuses = False
    except ReferencesError:
        strict_refuses = True
    block, bib = render_references(refs), to_bibtex(refs)
    left_prompt, back = leftovers(block)
    left_export, _ = leftovers(bib)
    dropped = dropped_counts(refs)
    check = check_budget(block, CONTEXT, UPSTREAM_NEW_TOKENS)
    t_ours, t_bp = best_of_both(
        lambda: load_references(source), lambda: bibtexparser.parse_string(whole), repeat
    )
    placeholders = sum(1 for r in refs if r.dropped.get("abstract", "").startswith("a placeholder"))
    enrichment = enriched_abstracts(refs)
    row.update(
        refused=False,
        loaded=len(refs),
        skipped=refs.skipped,
        merged=refs.merged,
        strict_refuses=strict_refuses,
        abstracts=sum(1 for r in refs if r.abstract),
        placeholders=placeholders,
        abstracts_after_enrichment=enrichment["abstracts_after"],
        enrichment_ok=enrichment["ok"],
        enrichment_unsafe_filled=enrichment["unsafe_filled"],
        enrichment_rerun_requests=enrichment["rerun_requests"],
        fields_dropped=len(dropped),
        field_values_dropped=sum(n for _, n, _ in dropped),
        top_dropped=[name for name, _, _ in dropped[:4]],
        local_paths_before=len(LOCAL_PATH.findall(whole)),
        local_paths_prompt=len(LOCAL_PATH.findall(block)),
        local_paths_export=len(LOCAL_PATH.findall(bib)),
        bookkeeping_prompt=left_prompt,
        bookkeeping_export=left_export,
        reread_entries=back,
        prompt_tokens=check.tokens,
        budget=check.budget,
        load_s=round(t_ours, 4),
        bibtexparser_s=round(t_bp, 4),
        ratio=round(t_ours / t_bp, 2) if t_bp else None,
        warnings=len(refs.warnings),
    )
    row["ok"] = (
        row["local_paths_prompt"] == 0
        and row["local_paths_export"] == 0
        and left_prompt == 0
        and left_export == 0
        and back == len(refs)
        and row["enrichment_ok"]
    )
    return row


def synthetic(n: int) -> str:
    """``n`` entries of our own (no third-party text), with bookkeeping to drop and some abstracts."""
    parts = []
    for i in range(n):
        abstract = f"  abstract = {{We study problem {i} with method {i % 97}.}},\n" if i % 3 else ""
        parts.append(
            f"@article{{key{i},\n  title = {{A study of topic {i}}},\n  author = {{Doe, Jane and Roe, Rich}},\n"
            f"  journal = {{Journal {i % 50}}},\n  year = {{{1990 + i % 35}}},\n{abstract}"
            f"  file = {{/Users/someone/Papers/key{i}.pdf}},\n  timestamp = {{2020.01.01}}\n}}\n"
        )
    return "\n".join(parts)


def scaling(sizes: list[int]) -> list[dict]:
    rows = []
    for n in sizes:
        text = synthetic(n)
        start = time.perf_counter()
        refs = load_references(text)
        loaded = time.perf_counter()
        block = render_references(refs)
        done = time.perf_counter()
        rows.append(
            {
                "entries": n,
                "load_s": round(loaded - start, 3),
                "render_s": round(done - loaded, 3),
                "total_s": round(done - start, 3),
                "us_per_entry": round((done - start) / n * 1e6, 1),
                "local_paths_in_prompt": len(LOCAL_PATH.findall(block)),
            }
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    ap.add_argument(
        "--rebuild", action="store_true", help="extract the corpus from the fetched mirrors first"
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scaling", default="1000,8000,100000", help="synthetic sizes ('' to skip)")
    args = ap.parse_args()
    if args.rebuild:
        rebuild(args.dir)
    sources = json.loads(SOURCES.read_text())
    by_name = {s["name"]: s for s in sources}
    groups: dict[str, list[Path]] = {}
    for s in sources:
        if "group" in s and (args.dir / s["name"]).exists():
            groups.setdefault(s["group"], []).append(args.dir / s["name"])
    grouped = {p for ps in groups.values() for p in ps}
    rows = []
    for path in sorted(args.dir.rglob("*.bib")):
        if path in grouped:
            continue
        name = str(path.relative_to(args.dir))
        rows.append(row_for(name, [path], by_name.get(name, {}).get("exporter", "?"), args.repeat))
        print(json.dumps(rows[-1]), flush=True)
    for paths in groups.values():
        names = [str(p.relative_to(args.dir)) for p in paths]
        exporter = " + ".join(by_name[n]["exporter"] for n in names)
        rows.append(row_for(" + ".join(names), paths, exporter, args.repeat))
        print(json.dumps(rows[-1]), flush=True)
    sizes = [int(x) for x in args.scaling.split(",") if x]
    scale = scaling(sizes)

    loaded_rows = [r for r in rows if not r["refused"]]
    large = [r for r in loaded_rows if 2000 <= r["entries"] < 5000]
    exporters = sorted({r["exporter"] for r in rows})
    lines = [
        "# Real bibliographies through load_references",
        "",
        f"CPU: {cpu_model()} (shared with other work: ratios are of runs side by side).",
        "",
        f"{len(rows)} inputs ({len(exporters)} exporters); load time best of {args.repeat}, alternating with "
        "`bibtexparser.parse_string` on the same text. Tokens: estimated (3 characters a token + the "
        f"instruction) against the released models' budget ({CONTEXT:,} context - {UPSTREAM_NEW_TOKENS:,} new).",
        "",
        "| file | exporter | entries | bibtexparser | loaded | skipped | dup merged | abstracts | after enrichment "
        "| fields dropped | local paths before -> prompt/export | bookkeeping left prompt/export | prompt tokens "
        "/ budget | load s | bibtexparser s | ratio | ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["refused"]:
            lines.append(
                f"| {r['file']} | {r['exporter']} | {r['entries']} | {r['bibtexparser']} | refused: {r['error']} "
                "| | | | | | | | | | | | " + ("yes" if r["ok"] else "NO") + " |"
            )
            continue
        after = "n/a" if r["abstracts_after_enrichment"] is None else r["abstracts_after_enrichment"]
        lines.append(
            f"| {r['file']} | {r['exporter']} | {r['entries']} | {r['bibtexparser']} | {r['loaded']} | {r['skipped']} "
            f"| {r['merged']} | {r['abstracts']} ({r['placeholders']} placeholders) | {after} "
            f"| {r['fields_dropped']} ({r['field_values_dropped']} values; {', '.join(r['top_dropped'])}) "
            f"| {r['local_paths_before']} -> {r['local_paths_prompt']}/{r['local_paths_export']} "
            f"| {r['bookkeeping_prompt']}/{r['bookkeeping_export']} | {r['prompt_tokens']:,} / {r['budget']:,} "
            f"| {r['load_s']:.3f} | {r['bibtexparser_s']:.3f} | {r['ratio']} | {'yes' if r['ok'] else 'NO'} |"
        )
    lines += [
        "",
        "Files of 2,000 to 5,000 entries (goal: load <= 1.5x bibtexparser): "
        + "; ".join(
            f"{r['file']} ({r['entries']:,} entries) {r['load_s']} s against {r['bibtexparser_s']} s = {r['ratio']}x"
            for r in large
        )
        + ". All files: "
        + f"{sum(r['load_s'] for r in loaded_rows):.2f} s against {sum(r['bibtexparser_s'] for r in loaded_rows):.2f} s.",
        "",
        f"Refused by default: {sum(r['refused'] for r in rows)}; not ok: {sum(not r['ok'] for r in rows)}.",
        "",
        "## Scaling (synthetic entries of our own; load + render)",
        "",
        "| entries | load s | render s | total s | us per entry |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {s['entries']:,} | {s['load_s']} | {s['render_s']} | {s['total_s']} | {s['us_per_entry']} |"
        for s in scale
    ]
    lines += ["", "## Sources", "", "| file | repository | path | commit |", "|---|---|---|---|"]
    lines += [f"| {s['name']} | {s['repo']} | {s['path']} | {s['commit']} |" for s in sources]
    import bibtexparser

    write(
        "real_bibliographies",
        {
            "rows": rows,
            "scaling": scale,
            "sources": sources,
            "bibtexparser": bibtexparser.__version__,
            "cycleresearcher_references": references.__name__,
        },
        lines,
    )


if __name__ == "__main__":
    main()
