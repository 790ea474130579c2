"""Reading what the other stages wrote (run stores, folders of review files, OpenReview JSON,
detection results, label CSVs) into the typed records of :mod:`.records`. All I/O of the
evaluation lives here; the metric modules are pure functions over records.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .. import safejson
from ..errors import InputError
from .coverage import is_run_dir, no_review_message, nothing_in, warn_repeated
from .records import HumanPaper, ReviewedPaper, id_lookup, unwrap_review

GroupBy = Literal["run", "folder", "label", "reviewer"]
REVIEW_SUFFIXES = (".json", ".jsonl", ".txt", ".md")
#: keys that mark a JSON object as a review (a paper export or a config is skipped, not failed)
_REVIEW_KEYS = {"reviewers", "final", "decision", "avg_rating", "rating", "raw_text", "review"}
#: name parts a review file may carry after the paper id ("p1.review.json" -> "p1")
_ID_SUFFIXES = (".review", "_review", ".reviews")
UNLABELLED = "(unlabelled)"
#: what our own commands write beside reviews that is not a review (`detect -o`, the evaluate
#: tables): left out when a folder is walked, so a detection run in the tree is no phantom paper
OWN_OUTPUTS = frozenset(
    {"detections.json", "detections.md", "papers.md", "reviewers.md", "reviewers.json", "detection.md",
     "winrate.md", "judgements.jsonl"}
)  # fmt: skip
Warn = Callable[[str], None]


def paper_id_from_path(path: Path) -> str:
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    for suffix in _ID_SUFFIXES:
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


# -- reviews ---------------------------------------------------------------------------------
def review_from_text(text: str, paper_id: str, group: str = "", source: str = "") -> ReviewedPaper:
    """Parse a raw CycleReviewer / DeepReviewer output with the review stage's parser."""
    from ..review import parse_review

    review = parse_review(text)
    paper = ReviewedPaper.from_review_dict(review.to_dict(include_raw=False), paper_id, group, source)
    paper.raw_text = text
    return paper


def _json_reviews(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(paper id, review dict) pairs of a .json / .jsonl file: one review, a list, or {id: review}."""
    try:
        if path.suffix == ".jsonl":
            items: Any = [
                safejson.loads(line, str(path))
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
        else:
            items = safejson.loads(path.read_text(encoding="utf-8"), str(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path} is not valid JSON ({exc}). Fix the file or move it out of the folder."
        ) from exc
    if isinstance(items, dict) and _REVIEW_KEYS & items.keys():
        yield str(items.get("paper_id") or items.get("id") or paper_id_from_path(path)), items
    elif isinstance(items, dict):  # {paper_id: review}
        for key, value in items.items():
            if isinstance(value, dict) and _REVIEW_KEYS & value.keys():
                yield str(key), value
    elif isinstance(items, list):
        for i, value in enumerate(items):
            if isinstance(value, dict) and _REVIEW_KEYS & value.keys():
                yield (
                    str(value.get("paper_id") or value.get("id") or f"{paper_id_from_path(path)}#{i}"),
                    value,
                )


def reviews_from_file(path: Path, group: str = "") -> list[ReviewedPaper]:
    if path.suffix in {".json", ".jsonl"}:
        out = []
        for pid, data in _json_reviews(path):
            paper = ReviewedPaper.from_review_dict(data, pid, group, str(path))
            raw = (unwrap_review(data)[0] or {}).get("raw_text")
            if not paper.parsed and isinstance(raw, str) and raw.strip():  # stored unparsed: parse it now
                paper = review_from_text(raw, pid, group, str(path))
            out.append(paper)
        return out
    text = path.read_text(encoding="utf-8", errors="replace")
    return [review_from_text(text, paper_id_from_path(path), group, str(path))]


def review_files(folder: Path) -> list[Path]:
    """The review files under ``folder`` (recursively), JSON first, without :data:`OWN_OUTPUTS`."""
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix in REVIEW_SUFFIXES and p.name not in OWN_OUTPUTS
    )
    files.sort(key=lambda p: p.suffix not in {".json", ".jsonl"})  # JSON first (stable sort)
    return files


def reviews_from_folder(
    folder: Path, group: str | None = None, group_by_folder: bool = False, warn: Warn | None = None
) -> list[ReviewedPaper]:
    """Every review file under ``folder`` (:func:`review_files`). Each review counts, so the same
    paper reviewed in two folders (two runs) is two reviewed papers. In ONE folder a paper's JSON
    and text files are one review in two formats (`review -o` writes ``<id>.json`` and ``<id>.md``):
    the JSON is used. ``group_by_folder`` names the group after the file's folder relative to
    ``folder`` (``folder``'s own name for files at its top)."""
    out: list[ReviewedPaper] = []
    claimed: dict[tuple[Path, str], Path] = {}  # (folder, paper id) -> the file read for it
    for path in review_files(folder):
        if group_by_folder:
            rel = path.parent.relative_to(folder)
            name = folder.name if rel == Path(".") else rel.as_posix()
        else:
            name = group if group is not None else folder.name
        for paper in reviews_from_file(path, name):
            first = claimed.setdefault((path.parent, paper.paper_id), path)
            if first == path:
                out.append(paper)
            elif warn and _is_json(first) == _is_json(path):  # not the JSON + text pair of one review
                warn(
                    f"{path}: {first.name} in the same folder is also a review of {paper.paper_id}; "
                    "it is used, this one is left out."
                )
    return sorted(out, key=lambda p: (p.group, p.paper_id))


def _is_json(path: Path) -> bool:
    return path.suffix in {".json", ".jsonl"}


def reviews_from_run(run: Path, group: str | None = None, by_reviewer: bool = False) -> list[ReviewedPaper]:
    """Records of kind "review" of a run store; "paper" records without a review are failed parses."""
    from ..store import RunStore

    name = group if group is not None else (run.name if run.is_dir() else run.parent.name)
    with RunStore(run, create=False) as store:
        reviews, papers = store.items("review"), store.items("paper")
    if papers and not reviews:  # a research run: nothing to score yet (not N failed parses)
        raise InputError(
            f"{run} holds {len(papers)} paper(s) and no review. Review them first "
            f"(cycleresearcher review <the papers' files> -o DIR), then evaluate DIR."
        )
    out: list[ReviewedPaper] = []
    reviewed: set[str] = set()
    for key, data in reviews:
        pid = str(data.get("paper_id") or key)
        label = str(data.get("reviewer") or "reviewer") if by_reviewer else name
        paper = ReviewedPaper.from_review_dict(data, pid, label, f"{run}#{key}")
        raw = (unwrap_review(data)[0] or {}).get("raw_text")
        if not paper.parsed and isinstance(raw, str) and raw.strip():
            paper = review_from_text(raw, pid, label, f"{run}#{key}")
        out.append(paper)
        reviewed.add(pid)
    for key, data in papers:
        pid = str(data.get("id") or data.get("paper_id") or key)
        if pid not in reviewed:
            out.append(ReviewedPaper.unreviewed(pid, name, f"{run}#{key}", "no review record"))
    return out


def load_reviews(
    sources: Sequence[str | Path],
    group_by: GroupBy = "run",
    labels: dict[str, str] | None = None,
    warn: Warn | None = None,
) -> list[ReviewedPaper]:
    """Reviewed papers from run directories, folders or files, grouped for the quality table.

    ``run``: one group per source; ``folder``: one group per folder holding review files (a run is
    one folder); ``label``: the label of each paper id in ``labels`` ("(unlabelled)" otherwise;
    ids matched as :func:`records.id_lookup` does); ``reviewer``: the ``reviewer`` field of
    run-store records (the source name for files).

    Papers with no review (a failed request: ``not_reviewed``) are returned for the table to name.
    A source with no review at all is left out with a warning, and with no review anywhere this
    raises an InputError saying what each source holds. ``warn`` also hears of papers reviewed more
    than once in a group (each review counts).
    """
    if group_by == "label" and labels is None:
        raise InputError("--group-by label needs --labels CSV (columns: paper_id,label).")
    warn = warn or (lambda _message: None)
    found: list[tuple[Path, list[ReviewedPaper]]] = []
    names = _unique_names([Path(s) for s in sources])
    for source, name in zip(sources, names, strict=True):
        path = Path(source)
        if not path.exists():
            raise InputError(
                f"{path} does not exist. Pass run directories (-o of a command), folders or review files."
            )
        if is_run_dir(path):
            papers = reviews_from_run(path, name, by_reviewer=group_by == "reviewer")
        elif path.is_dir():
            papers = reviews_from_folder(path, name, group_by_folder=group_by == "folder", warn=warn)
        else:
            papers = reviews_from_file(path, name)
        found.append((path, papers))
    has_review = [any(not p.not_reviewed for p in papers) for _, papers in found]
    if not any(has_review):
        raise InputError(no_review_message(found))
    out: list[ReviewedPaper] = []
    for (path, papers), usable in zip(found, has_review, strict=True):
        if usable:
            out += papers
        else:
            warn(f"{nothing_in(path, papers)}; left out of the table.")
    if group_by == "label":
        find = id_lookup(labels)  # type: ignore[arg-type]
        for paper in out:
            key = find(paper.paper_id)
            paper.group = labels[key] if key is not None else UNLABELLED  # type: ignore[index]
    warn_repeated(out, warn)
    return out


def _unique_names(paths: Iterable[Path]) -> list[str]:
    """Group names: the folder / file name, made unique with the parent name when two collide."""
    paths = list(paths)
    base = [p.name if p.is_dir() else p.stem for p in paths]
    out = []
    for p, name in zip(paths, base, strict=True):
        if base.count(name) > 1:
            name = f"{p.resolve().parent.name}/{name}"
        out.append(name)
    return out


# -- human reviews ---------------------------------------------------------------------------
def load_truth(path: str | Path) -> list[HumanPaper]:
    """Human reviews: an OpenReview-style JSON list (or JSONL) of ``{id, decision, review: [...]}``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path} does not exist. Pass the human reviews as a JSON list of {{id, decision, review}}."
        )
    text = path.read_text(encoding="utf-8")
    try:
        data: Any = (
            [safejson.loads(line, str(path)) for line in text.splitlines() if line.strip()]
            if path.suffix == ".jsonl"
            else safejson.loads(text, str(path))
        )
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON ({exc}).") from exc
    if isinstance(data, dict):
        data = data.get("papers") or data.get("data") or [data]
    if not isinstance(data, list):
        raise InputError(
            f"{path}: expected a JSON list of {{id, decision, review: [...]}}, not {type(data).__name__}."
        )
    papers = [HumanPaper.from_openreview(item) for item in data if isinstance(item, dict)]
    if not papers or any(not p.paper_id for p in papers):
        raise InputError(f"{path}: every paper needs an 'id' (and 'review': [...] with the human reviews).")
    return papers


def load_predictions(folder: str | Path) -> dict[str, ReviewedPaper]:
    """Predicted reviews in a folder, matched to papers by file stem (= paper id); a run directory
    is read through its review records instead."""
    folder = Path(folder)
    if not folder.exists():
        raise InputError(
            f"{folder} does not exist. Pass a folder of predicted reviews named <paper id>.txt/.json."
        )
    if is_run_dir(folder):
        papers = reviews_from_run(folder)
    elif folder.is_dir():
        papers = reviews_from_folder(folder)
    else:
        papers = reviews_from_file(folder)
    # a paper with no review (its request failed) is a missing prediction, not a failed parse
    return {p.paper_id: p for p in reversed(papers) if not p.not_reviewed}


# -- labels and detection results ------------------------------------------------------------
#: header names of the id column, first match wins (else the first column that is not the label)
_ID_COLUMNS = ("paper_id", "id", "file", "name")
NO_LABEL_HEADER = "{path}: needs a header with an id column (paper_id or id) and a 'label' column."


@dataclass(frozen=True)
class LabelRow:
    line: int  # line in the CSV, for messages
    key: str  # paper id, path or file name
    label: str  # as written (stripped)


def read_label_rows(path: str | Path) -> list[LabelRow]:
    """The one reader of label CSVs: ``file,label`` or ``paper_id,label`` rows, header optional.

    A first row that names an id column (paper_id, id, file, name) or a ``label`` column is the
    header and picks the columns; without one the id is the first column and the label the second.
    Blank rows, rows starting with ``#`` and rows without an id are skipped."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist. Pass a CSV with columns paper_id,label.")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = _label_rows(path, csv.reader(fh))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); re-save the CSV as UTF-8.") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV ({exc}).") from None
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read the labels CSV ({exc}). Write it as UTF-8 `file,label` lines."
        ) from exc
    if not rows:
        raise InputError(f"{path}: no labels found. Write `file,label` lines (label human/machine or 0/1).")
    return rows


def _label_rows(path: Path, reader: Any) -> list[LabelRow]:
    out: list[LabelRow] = []
    columns: tuple[int, int] | None = None  # (id, label) once the first row is seen
    for row in reader:
        if not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if columns is None:
            names = [c.strip().lower() for c in row]
            if "label" in names or any(n in names for n in _ID_COLUMNS):
                if "label" not in names:
                    raise InputError(NO_LABEL_HEADER.format(path=path))
                label_col = names.index("label")
                others = [i for i in range(len(names)) if i != label_col]
                id_col = next((names.index(n) for n in _ID_COLUMNS if n in names), others[0] if others else None)
                if id_col is None:
                    raise InputError(NO_LABEL_HEADER.format(path=path))
                columns = (id_col, label_col)
                continue
            columns = (0, 1)
        id_col, label_col = columns
        if len(row) <= max(id_col, label_col):
            raise InputError(f"{path}:{reader.line_num}: expected `file,label`, got {','.join(row)!r}.")
        key = row[id_col].strip()
        if key:
            out.append(LabelRow(reader.line_num, key, row[label_col].strip()))
    return out


def load_labels(path: str | Path) -> dict[str, str]:
    """Paper id -> label as written (the groups of ``evaluate papers --group-by label``)."""
    return {row.key: row.label for row in read_label_rows(path)}


def load_detection_labels(path: str | Path) -> dict[str, int]:
    """File or paper id -> 0 (human) / 1 (machine), for ``detect --labels`` and ``evaluate detection``."""
    from .detection import parse_label

    out: dict[str, int] = {}
    for row in read_label_rows(path):
        try:
            out[row.key] = parse_label(row.label)
        except InputError as exc:
            raise InputError(f"{path}:{row.line}: {exc}") from exc
    return out


def load_detections(source: str | Path) -> dict[str, dict[str, Any]]:
    """Detection results by paper id: a run store (records of kind "detection"), a JSON list /
    ``{id: record}`` object (``detections.json``, saved ``detect --json`` output), or JSONL. The
    id is ``paper_id`` / ``id`` / ``source`` / ``path`` (records of older versions had no
    ``paper_id``); labels match the id or the record's ``path``."""
    path = Path(source)
    if not path.exists():
        raise InputError(
            f"{path} does not exist. Pass a detection run directory or a JSON/JSONL file of results."
        )
    if path.is_dir() and not is_run_dir(path):  # a copied detect -o folder: its detections.json
        if not (path / "detections.json").is_file():
            raise InputError(
                f"{path} is a folder with no detection run store and no detections.json. Pass a detection "
                "run directory (detect -o) or a JSON/JSONL file of results."
            )
        path = path / "detections.json"
    items: list[tuple[str | None, dict[str, Any]]]
    if is_run_dir(path):
        from ..store import RunStore

        with RunStore(path, create=False) as store:
            items = [(k, d) for k, d in store.items("detection")]
    else:
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix == ".jsonl":
                data: Any = [safejson.loads(line, str(path)) for line in text.splitlines() if line.strip()]
            else:
                data = safejson.loads(text, str(path))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} is not valid JSON ({exc}).") from exc
        if isinstance(data, dict):
            data = data.get("results", data)
        if isinstance(data, dict):
            items = [(str(k), v) for k, v in data.items() if isinstance(v, dict)]
        elif isinstance(data, list):
            items = [(None, v) for v in data if isinstance(v, dict)]
        else:
            raise InputError(
                f"{path}: expected detection results (a JSON list of {{paper_id, probability, criterion}}), "
                f"not {type(data).__name__}."
            )
    out: dict[str, dict[str, Any]] = {}
    for key, record in items:
        # `detect --json` records carry the file in `source`; labels match it by path or file name
        pid = str(
            record.get("paper_id")
            or record.get("id")
            or record.get("source")
            or record.get("path")
            or key
            or ""
        )
        if pid:
            out[pid] = record
    if not out:
        raise InputError(f"No detection results in {path} (records need 'paper_id'/'id'/'path' and a score).")
    return out


# -- review texts (for the judge) ------------------------------------------------------------
def review_text(data: dict[str, Any]) -> str:
    """What a judge reads: the model's own text when stored, else the review rendered as Markdown."""
    review, error = unwrap_review(data)
    if review is None:
        return f"(no review: {error})"
    raw = review.get("raw_text")
    if isinstance(raw, str) and raw.strip():
        return raw
    from ..review.records import Review

    return Review.from_dict(review).to_markdown()


def load_review_texts(source: str | Path) -> dict[str, str]:
    """Paper id -> review text from a run directory, a folder of review files, or one JSON file."""
    path = Path(source)
    if not path.exists():
        raise InputError(
            f"{path} does not exist. Pass a run directory or a folder of reviews named <paper id>.txt/.json."
        )
    out: dict[str, str] = {}
    if is_run_dir(path):
        from ..store import RunStore

        with RunStore(path, create=False) as store:
            for key, data in store.items("review"):
                out.setdefault(str(data.get("paper_id") or key), review_text(data))
        return out
    for file in review_files(path) if path.is_dir() else [path]:
        if file.suffix in {".json", ".jsonl"}:
            for pid, data in _json_reviews(file):
                out.setdefault(pid, review_text(data))
        else:
            out.setdefault(paper_id_from_path(file), file.read_text(encoding="utf-8", errors="replace"))
    return out


def load_paper_texts(folder: str | Path) -> dict[str, str]:
    """Paper id (file stem) -> text, for the judge's optional view of the paper."""
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{path} is not a folder. Pass a folder of papers named <paper id>.tex/.md/.txt.")
    return {
        paper_id_from_path(p): p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(path.iterdir())
        if p.is_file() and p.suffix in {".tex", ".md", ".txt"}
    }
