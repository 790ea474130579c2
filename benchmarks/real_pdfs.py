"""Real PDFs read by three extractors, raw and through our cleaning, side by side.

    python benchmarks/real_pdfs.py DIR --rebuild   # fetch the corpus from the mirrors into DIR
    python benchmarks/real_pdfs.py DIR             # measure; results/real_pdfs.{md,json}

The corpus (benchmarks/real_pdfs_sources.json: repository, path, commit, and the title printed
on the first page) is rebuilt from the mirrors that the search tool's fetch leaves in
/work/.mirror (``git --git-dir MIRROR show COMMIT:PATH``); the PDFs are never committed.

Per PDF and extractor (pypdf, pdfminer.six, pypdfium2; PyMuPDF is AGPL and left out): pages,
characters, headings found, glued words (runs of 13+ letters that are no word of wordninja's
list: the floor is long real words the list lacks, 'interpretability'), line-number tokens
(numbers chaining down the page like margin numbers, pdf_lines.count_line_number_tokens: the
floor is table columns), time per page; each raw and after our cleaning (pdf_lines, pdf_text,
pdf_words). Titles: the old rule (metadata title, else the first line) against pdf_title, each
compared with the title printed on the page. pdfminer.six and pypdfium2 are needed only here:
pip install pdfminer.six pypdfium2.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write  # noqa: E402

from cycleresearcher.paper.pdf_lines import count_line_number_tokens, strip_line_numbers  # noqa: E402
from cycleresearcher.paper.pdf_text import clean_text, strip_running_lines  # noqa: E402
from cycleresearcher.paper.pdf_title import pdf_title  # noqa: E402
from cycleresearcher.paper.pdf_words import glued_tokens, spaceless_tokens, split_glued  # noqa: E402

SOURCES = Path(__file__).with_name("real_pdfs_sources.json")
MIRRORS = Path("/work/.mirror")
_HEADING_RE = re.compile(
    r"^(?:\d{1,2}(?:\.\d{1,2})*\.?[ \t]+[A-Z][^\n]{2,70}|[IVX]{1,4}\.[ \t]+[A-Z][^\n]{2,70}|"
    r"(?:Abstract|Introduction|Related Work|Conclusions?|References|Acknowledge?ments?)\b[^\n]{0,40})$",
    re.MULTILINE,
)


def rebuild(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for src in json.loads(SOURCES.read_text())["pdfs"]:
        mirror = MIRRORS / src["repo"].replace("/", "+") / "repo"
        data = subprocess.run(
            ["git", "--git-dir", str(mirror), "show", f"{src['commit']}:{src['path']}"],
            capture_output=True,
            check=True,
        ).stdout
        (folder / src["name"]).write_bytes(data)
        print(f"{src['name']}: {len(data)} bytes from {src['repo']}@{src['commit'][:10]}:{src['path']}")


def pages_pypdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(str(path)).pages]


def pages_pdfminer(path: Path) -> list[str]:
    from pdfminer.high_level import extract_text

    pages = extract_text(str(path)).split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pages_pdfium(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        return [page.get_textpage().get_text_bounded() for page in doc]
    finally:
        doc.close()


EXTRACTORS = {"pypdf": pages_pypdf, "pdfminer.six": pages_pdfminer, "pypdfium2": pages_pdfium}


def cleaned(pages: list[str]) -> str:
    """Our cleaning, as pdf_extract applies it (without the title and our own export's marks)."""
    pages, _ = strip_line_numbers(pages)
    text = clean_text("\n\n".join(strip_running_lines(pages)))
    return split_glued(text)[0]


def previous(pages: list[str]) -> str:
    """The reader before line numbers and glued words were handled: running lines and clean_text."""
    return clean_text("\n\n".join(strip_running_lines(pages)))


def measure(text: str, examples: bool = False) -> dict:
    if examples:  # what the floor is made of
        return {
            "glued_left": sorted(set(glued_tokens(text)))[:15],
            "spaceless_left": sorted(set(spaceless_tokens(text))),
        }
    return {
        "chars": len(text),
        "headings": len(_HEADING_RE.findall(text)),
        "glued": len(glued_tokens(text)),
        "spaceless": len(spaceless_tokens(text)),
        "line_numbers": count_line_number_tokens(text),
    }


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", s).lower().split())


def titles(path: Path, expected: str) -> dict:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    meta = str((reader.metadata.title if reader.metadata else "") or "").strip()
    first = next((ln.strip() for ln in pages_pypdf(path)[0].split("\n") if ln.strip()), "")
    old = meta or first
    new = pdf_title(meta, reader.pages[0], path.stem, first)
    return {
        "metadata": meta,
        "old": old,
        "new": new,
        "old_right": _norm(old) == _norm(expected),
        "new_right": _norm(new) == _norm(expected),
    }


def run(folder: Path) -> None:
    sources = json.loads(SOURCES.read_text())["pdfs"]
    rows = []
    for src in sources:
        path = folder / src["name"]
        row: dict = {"name": src["name"], "kind": src["kind"], "extractors": {}}
        for name, fn in EXTRACTORS.items():
            try:
                t0 = time.perf_counter()
                pages = fn(path)
                dt = time.perf_counter() - t0
            except ImportError:
                continue
            t1 = time.perf_counter()
            clean = cleaned(pages)
            dt_clean = time.perf_counter() - t1
            row["pages"] = row.get("pages") or len(pages)
            row["extractors"][name] = {
                "raw": measure("\n".join(pages)),
                "previous": measure(previous(pages)),
                "clean": measure(clean),
                "left": measure(clean, examples=True),
                "ms_per_page": round(1000 * dt / max(len(pages), 1), 1),
                "clean_ms_per_page": round(1000 * dt_clean / max(len(pages), 1), 1),
            }
        row["title"] = titles(path, src["title"])
        rows.append(row)
        print(src["name"], "done", file=sys.stderr)
    names = [n for n in EXTRACTORS if all(n in r["extractors"] for r in rows)]
    lines = [
        "# Real PDFs: extractors side by side, raw and cleaned",
        "",
        f"{len(rows)} real PDFs (benchmarks/real_pdfs_sources.json). Cells: raw / previous reader (running lines",
        "and clean_text only) / after our cleaning. The JSON lists the glued and spaceless tokens left.",
        "glued: runs of 13+ letters not in wordninja's list (floor: long real words it lacks, more of them",
        "once hyphen repair rejoins 'inter-' + 'pretability'); spaceless: the glued runs that split into",
        "3+ listed words (floor: names, identifiers such as 'CodeSubmissionPolicy');",
        "line-no: numbers chaining down a page like margin line numbers (floor: table columns);",
        "ms/p: extraction time per page (cleaning adds the clean column, same for every extractor).",
        "",
    ]
    for n in names:
        lines += [
            f"## {n}",
            "",
            "| PDF | pages | chars | headings | glued | spaceless | line-no | ms/p | clean ms/p |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        tot = {"glued": [0, 0, 0], "spaceless": [0, 0, 0], "line_numbers": [0, 0, 0], "ms": 0.0, "pages": 0}
        for r in rows:
            e = r["extractors"][n]
            raw, pr, cl = e["raw"], e["previous"], e["clean"]

            def cell(k: str, raw=raw, pr=pr, cl=cl) -> str:
                return f"{raw[k]} / {pr[k]} / {cl[k]}"

            lines.append(
                f"| {r['name']} | {r['pages']} | {cell('chars')} | {cell('headings')} "
                f"| {cell('glued')} | {cell('spaceless')} | {cell('line_numbers')} "
                f"| {e['ms_per_page']} | {e['clean_ms_per_page']} |"
            )
            for k in ("glued", "spaceless", "line_numbers"):
                for i, m in enumerate((raw, pr, cl)):
                    tot[k][i] += m[k]
            tot["ms"] += e["ms_per_page"] * r["pages"]
            tot["pages"] += r["pages"]
        lines += [
            f"| **all** | {tot['pages']} | | | {' / '.join(map(str, tot['glued']))} "
            f"| {' / '.join(map(str, tot['spaceless']))} | {' / '.join(map(str, tot['line_numbers']))} "
            f"| {tot['ms'] / max(tot['pages'], 1):.1f} | |",
            "",
        ]
    lines += [
        "## Titles",
        "",
        "| PDF | metadata title | old rule (metadata, else first line) | pdf_title | old right | new right |",
        "|---|---|---|---|:-:|:-:|",
    ]
    for r in rows:
        t = r["title"]
        cut = [x[:60] for x in (t["metadata"], t["old"], t["new"])]
        lines.append(
            f"| {r['name']} | {cut[0]} | {cut[1]} | {cut[2]} | {'yes' if t['old_right'] else 'no'} "
            f"| {'yes' if t['new_right'] else 'no'} |"
        )
    right = sum(r["title"]["new_right"] for r in rows), sum(r["title"]["old_right"] for r in rows)
    lines += ["", f"Titles right: pdf_title {right[0]}/{len(rows)}, old rule {right[1]}/{len(rows)}.", ""]
    lines += ["## Sources", "", "| PDF | repository | path | commit | why |", "|---|---|---|---|---|"]
    lines += [
        f"| {s['name']} | {s['repo']} | {s['path']} | {s['commit'][:12]} | {s['kind']} |" for s in sources
    ]
    write("real_pdfs", {"rows": rows, "sources": sources}, lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path, help="the corpus folder (e.g. .cache/corpus/pdf)")
    ap.add_argument("--rebuild", action="store_true", help="write the corpus into DIR from the mirrors first")
    args = ap.parse_args()
    if args.rebuild:
        rebuild(args.dir)
    run(args.dir)


if __name__ == "__main__":
    main()
