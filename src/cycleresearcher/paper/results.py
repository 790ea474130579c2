"""Experiment results: checking a results list against the documented shape.

Shape (FORMATS.md §1, the training records' turn 4): a JSON list of experiments
``{"name": str, "result": {...}}`` whose ``result`` holds at least one of ``table`` (a list of
rows, each a list of cells; the first row is the header), ``description`` (text), ``notes`` (a
list of texts, or one text) and ``image`` (a text describing a figure). Every one of these
variants occurs in the training records; other keys are kept as they are. Results are read with
``latex_json.read_json`` (LaTeX commands inside strings stay literal).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..latex_json import read_json


class ResultsError(InputError):
    """Experiment results that do not have the documented shape; the message says where."""


@dataclass
class ResultTable:
    header: list[str]
    rows: list[list[str]]  # padded to the header's width


@dataclass
class ResultItem:
    """One experiment of the results list, checked."""

    index: int  # 1-based position in the list
    name: str
    table: ResultTable | None = None
    description: str = ""
    notes: list[str] = field(default_factory=list)
    image: str = ""

    @property
    def text(self) -> str:
        return "\n".join([self.description, *self.notes, self.image]).strip()


RESULT_KEYS = ("table", "description", "notes", "image")
_SHAPE = 'a JSON list like [{"name": "Main comparison", "result": {"table": [["Method", "Acc."], ["Ours", "81.2"]], "description": "..."}}]'


def _cell(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ResultsError(f"{where}: a cell must be a finite number or text, got {value}")
        return str(value)
    if isinstance(value, str):
        return value
    raise ResultsError(f"{where}: a cell must be text or a number, got a {type(value).__name__}")


def validate_results(value: Any, source: str = "results") -> list[ResultItem]:
    """Check ``value`` against the documented shape; raise ResultsError naming what and where.

    A single experiment object is accepted as a list of one (as ``results_message`` does)."""
    if isinstance(value, dict) and ("name" in value or "result" in value):
        value = [value]
    if not isinstance(value, list):
        raise ResultsError(f"{source}: the results must be {_SHAPE}; got a {type(value).__name__}")
    if not value:
        raise ResultsError(f"{source}: the results list is empty; give at least one experiment")
    items = []
    for i, item in enumerate(value, 1):
        where = f"{source}: item {i}"
        if not isinstance(item, dict):
            raise ResultsError(f"{where} must be an object {{name, result}}, got a {type(item).__name__}")
        name = item.get("name")
        if isinstance(name, str) and not name.strip():  # there, but blank: saying it is missing misleads
            raise ResultsError(f"{where}: 'name' is empty; give each experiment a name (text). Expected {_SHAPE}")
        if not isinstance(name, str):
            got = ", ".join(repr(k) for k in list(item)[:5]) or "nothing"
            has = f"a {type(name).__name__} as 'name'" if "name" in item else f"no 'name' (it has {got})"
            raise ResultsError(f"{where} needs a 'name' (text); it has {has}. Expected {_SHAPE}")
        where = f"{source}: item {i} ({name!r})"
        result = item.get("result")
        if not isinstance(result, dict):
            what = "no 'result'" if result is None else f"a {type(result).__name__} as 'result'"
            raise ResultsError(
                f"{where} has {what}; 'result' must be an object with 'table' and/or 'description'"
            )
        if not any(k in result for k in RESULT_KEYS):
            raise ResultsError(
                f"{where}: 'result' needs at least one of {', '.join(RESULT_KEYS)}; it has "
                f"{', '.join(repr(k) for k in result) or 'nothing'}"
            )
        items.append(_item(i, name.strip(), result, where))
    return items


def _item(i: int, name: str, result: dict[str, Any], where: str) -> ResultItem:
    out = ResultItem(index=i, name=name)
    if "table" in result:
        table = result["table"]
        if not isinstance(table, list) or not table or not all(isinstance(r, list) for r in table):
            raise ResultsError(
                f"{where}: 'result.table' must be a list of rows (lists of cells), header first"
            )
        width = len(table[0])
        if width == 0:
            raise ResultsError(f"{where}: 'result.table' row 1 (the header) is empty")
        rows = []
        for r, row in enumerate(table, 1):
            if len(row) > width:
                raise ResultsError(
                    f"{where}: 'result.table' row {r} has {len(row)} cells but the header has {width}"
                )
            cells = [_cell(c, f"{where}: 'result.table' row {r}, cell {j}") for j, c in enumerate(row, 1)]
            rows.append(cells + [""] * (width - len(cells)))
        out.table = ResultTable(header=rows[0], rows=rows[1:])
    for key in ("description", "image"):
        if key in result and result[key] is not None:
            if not isinstance(result[key], (str, int, float)):
                raise ResultsError(f"{where}: 'result.{key}' must be text")
            setattr(out, key, str(result[key]))
    notes = result.get("notes")
    if notes is not None:
        if isinstance(notes, str):
            notes = [notes]
        if not isinstance(notes, list) or not all(isinstance(n, (str, int, float)) for n in notes):
            raise ResultsError(f"{where}: 'result.notes' must be a list of texts")
        out.notes = [str(n) for n in notes]
    return out


def load_results(text: str, source: str = "results.json") -> tuple[Any, list[ResultItem]]:
    """A user's results file: (the JSON value as read, its checked items). LaTeX-aware reading."""
    if not text.strip():
        raise ResultsError(f"{source} is empty. Give {_SHAPE}")
    try:
        value = read_json(text, source)
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). Give {_SHAPE}"
        ) from exc
    except RecursionError as exc:
        raise ResultsError(f"{source} is nested too deeply to be experiment results. Give {_SHAPE}") from exc
    return value, validate_results(value, source)


def result_items(value: Any) -> list[ResultItem]:
    """The checked items of stored results, or [] when they do not have the documented shape
    (a simulated paper's results are whatever the model wrote)."""
    try:
        return validate_results(value)
    except ResultsError:
        return []


__all__ = [
    "RESULT_KEYS",
    "ResultItem",
    "ResultTable",
    "ResultsError",
    "load_results",
    "result_items",
    "validate_results",
]
