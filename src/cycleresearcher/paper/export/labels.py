"""The supplied results and the model's text, tied together: which of the model's own tables
already shows a supplied table (so it is not printed twice), which supplied table or figure a
``\\ref`` the model left dangling means (matched by the words of its label, else by order), and
the refs that still point nowhere, printed as their label rather than ``??``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...latex import strip_comments
from ..results import ResultItem

_TABLE_ENV = re.compile(r"\\begin\{(table\*?)\}(.*?)\\end\{\1\}", re.S)
_FIGURE_ENV = re.compile(r"\\begin\{(figure\*?)\}(.*?)\\end\{\1\}", re.S)
_CAPTION = re.compile(r"\\caption\s*(?:\[[^\]]*\])?\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_SOURCE_NUMBER = re.compile(r"^\s*(?:Figure|Fig\.?)\s*[\w.]+\s*[:.]\s*", re.I)
_NUM = re.compile(r"(?<![\w.])[-−]?\d+(?:\.\d+)?")
_REF_CMD = re.compile(r"\\(?:[cC]ref|[vV]ref|autoref|eqref|ref|pageref)\*?\s*\{([^{}]*)\}")
_LABEL = re.compile(r"\\label\s*\{([^{}]*)\}")
_WORD = re.compile(r"[a-z]+|\d+")
#: a model table that holds this share of a supplied table's numbers shows that table
REPRODUCED_SHARE = 0.8
_STOP = {
    "the",
    "and",
    "of",
    "on",
    "in",
    "for",
    "with",
    "to",
    "a",
    "an",
    "tab",
    "table",
    "fig",
    "figure",
    "main",
}


@dataclass
class Ties:
    """What the results section needs to know about the model's text."""

    #: item index -> the (start, end) of the model's table environment that shows its numbers
    shown_by: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: item index -> labels the model's refs use for its table / its figure
    table_labels: dict[int, list[str]] = field(default_factory=dict)
    figure_labels: dict[int, list[str]] = field(default_factory=dict)
    #: item index -> the (start, end) of the model's figure whose caption is the described image
    figure_shown_by: dict[int, tuple[int, int]] = field(default_factory=dict)


def _numbers(text: str) -> set[float]:
    return {float(m.group().replace("−", "-")) for m in _NUM.finditer(text)}


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def shown_by_model(body: str, items: list[ResultItem]) -> dict[int, tuple[int, int]]:
    """Supplied tables whose numbers a table of the model's text already shows (at least
    ``REPRODUCED_SHARE`` of them, and four or more), mapped to that table's span in ``body``."""
    tables = [(m.start(), m.end(), _numbers(m.group(2))) for m in _TABLE_ENV.finditer(body)]
    out: dict[int, tuple[int, int]] = {}
    taken: set[int] = set()
    for item in items:
        if item.table is None:
            continue
        wanted = _numbers(" ".join(c for row in item.table.rows for c in row))
        if len(wanted) < 4:
            continue
        best = max(
            (
                (len(wanted & nums) / len(wanted), start, end)
                for start, end, nums in tables
                if start not in taken
            ),
            default=None,
        )
        if best and best[0] >= REPRODUCED_SHARE:
            out[item.index] = (best[1], best[2])
            taken.add(best[1])
    return out


def figures_shown_by_model(body: str, items: list[ResultItem]) -> dict[int, tuple[int, int]]:
    """Described figures (``image``) whose caption a figure of the model's text already carries
    (four fifths of its words), mapped to that figure's span in ``body``."""
    figures = []
    for m in _FIGURE_ENV.finditer(body):
        cap = _CAPTION.search(m.group(2))
        if cap:
            figures.append((m.start(), m.end(), set(_words(cap.group(1)))))
    out: dict[int, tuple[int, int]] = {}
    for item in items:
        words = set(_words(_SOURCE_NUMBER.sub("", item.image)))
        if len(words) < 2:
            continue
        for start, end, caption in figures:
            if len(words & caption) >= 0.8 * len(words) and (start, end) not in out.values():
                out[item.index] = (start, end)
                break
    return out


def dangling_refs(text: str) -> list[tuple[str, str]]:
    """(label, the word before the ref) for every ``\\ref``-family label ``text`` never defines."""
    clean = strip_comments(text)
    labels = set(_LABEL.findall(clean))
    out: list[tuple[str, str]] = []
    for m in _REF_CMD.finditer(clean):
        before = clean[max(0, m.start() - 12) : m.start()]
        for key in m.group(1).split(","):
            key = key.strip()
            if key and key not in labels and key not in (k for k, _ in out):
                out.append((key, before))
    return out


def _kind(label: str, before: str) -> str | None:
    prefix = label.split(":", 1)[0].lower() if ":" in label else ""
    if prefix in ("tab", "table", "tbl") or re.search(r"Tab(?:le)?s?\.?[\s~]*$", before):
        return "table"
    if prefix in ("fig", "figure") or re.search(r"Fig(?:ure)?s?\.?[\s~]*$", before):
        return "figure"
    return None


def _score(label: str, item: ResultItem) -> int:
    """Words of the label that start a word of the experiment's name or table header (or the
    reverse: ``dedup`` / ``deduplication``)."""
    words = set(_words(item.name))
    if item.table is not None:
        words |= set(_words(" ".join(item.table.header)))
    words |= set(_words(item.image))
    hits = 0
    for w in set(_words(label.split(":", 1)[-1])):
        if len(w) >= 2 and any(x.startswith(w) or (len(x) >= 3 and w.startswith(x)) for x in words):
            hits += 1
    return hits


def tie(body: str, items: list[ResultItem], drawn: set[int]) -> Ties:
    """The ties between ``body`` (the model's text) and the supplied ``items``; ``drawn`` holds the
    indices of the items a chart is drawn for."""
    ties = Ties(shown_by=shown_by_model(body, items), figure_shown_by=figures_shown_by_model(body, items))
    candidates = {
        "table": [i for i in items if i.table is not None],
        "figure": [i for i in items if i.image or i.index in drawn],
    }
    targets = {"table": ties.table_labels, "figure": ties.figure_labels}
    for label, before in dangling_refs(body):
        kind = _kind(label, before)
        if kind is None or not candidates[kind]:
            continue
        pool = candidates[kind]
        scored = max(pool, key=lambda i: (_score(label, i), -len(targets[kind].get(i.index, [])), -i.index))
        if _score(label, scored) == 0:  # no word in common: the first experiment not yet referred to
            scored = next((i for i in pool if i.index not in targets[kind]), pool[-1])
        targets[kind].setdefault(scored.index, []).append(label)
    return ties


def label_model_table(body: str, span: tuple[int, int], labels: list[str]) -> str:
    """``body`` with ``labels`` added to the model's table at ``span`` (after its caption, where a
    label takes the table's number; with a caption of its own when it has none)."""
    start, end = span
    env = body[start:end]
    marks = "".join(f"\\label{{{x}}}" for x in labels)
    cap = re.search(r"\\caption\s*(?:\[[^\]]*\])?\s*\{", env)
    if cap:
        depth, i = 1, cap.end()
        while i < len(env) and depth:
            depth += {"{": 1, "}": -1}.get(env[i], 0)
            i += 1
        env = env[:i] + marks + env[i:]
    else:
        close = env.rfind("\\end{")
        env = env[:close] + f"\\caption{{}}{marks}\n" + env[close:]
    return body[:start] + env + body[end:]


def model_table_label(body: str, span: tuple[int, int]) -> str | None:
    """The first ``\\label`` of the model's table (or figure) at ``span``."""
    m = _LABEL.search(body, span[0], span[1])
    return m.group(1) if m else None


def mark_missing_refs(text: str) -> tuple[str, list[str]]:
    """``text`` with every ref to a label defined nowhere printed as that label in brackets
    (``[lem:bound]``) instead of ``??``; returns the labels so printed."""
    missing = [k for k, _ in dangling_refs(text)]
    if not missing:
        return text, []
    gone = set(missing)

    def swap(m: re.Match[str]) -> str:
        keys = [k.strip() for k in m.group(1).split(",") if k.strip()]
        if keys and all(k in gone for k in keys):
            return "\\CRmissingref{" + ", ".join(keys) + "}"
        return m.group(0)

    return _REF_CMD.sub(swap, text), missing


def printed_missing_refs(source: str) -> list[str]:
    """The labels ``mark_missing_refs`` printed in ``source``, in order."""
    out: list[str] = []
    for m in re.finditer(r"\\CRmissingref\{([^{}]*)\}", source):
        out += [k for k in m.group(1).split(", ") if k not in out]
    return out


__all__ = [
    "REPRODUCED_SHARE",
    "Ties",
    "dangling_refs",
    "figures_shown_by_model",
    "label_model_table",
    "mark_missing_refs",
    "model_table_label",
    "printed_missing_refs",
    "shown_by_model",
    "tie",
]
