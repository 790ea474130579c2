"""The Paper record and the parser of CycleResearcher output.

A full generation (EOS ignored, FORMATS.md §1) is assistant turn 3, the results user turn and
assistant turn 5 in one string::

    ## Motivation ... ## Main Idea ... ## Interestingness / ## Feasibility / ## Novelty (integers)
    ```latex \\title{...} \\begin{abstract}...\\end{abstract} ... ```
    ## Experimental Setup ```json [...] ```
    ## Experimental_results ```json [...] ```        <- written by the model itself: simulated
    ```latex \\section{Experiments} ... (stopped at \\clearpage)

How the turns join depends on the engine: with special tokens skipped they are glued with no
separator at all (``...]``````latex``), other decoders leave template markers between them
(``<|im_start|>assistant<|im_sep|>`` is in a real output). The parser therefore walks the text
with a cursor from marker to marker, accepts glued fences and any whitespace or template marker
between turns, and never splits on the content of a block. Every part is optional: a missing
marker leaves its fields empty and adds a warning, so ``parse_paper`` never raises.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .. import safejson
from ..errors import InputError
from ..latex import group, strip_comments
from ..latex_json import protect_latex, read_json
from ..prompts.research import results_message
from .grounding import check_grounding
from .record import Paper, as_int
from .results import result_items

# The turn joint we write ourselves (complete_paper's generated_text): blank line between turns.
TURN_JOINT = "\n\n"

RESULTS_HEADER = "## Experimental_results"

# Chat-template markers that a decoder may leave between turns (Mistral, ChatML/Phi, Llama 3).
_TEMPLATE_MARKER = re.compile(
    r"<\|im_start\|>[ \t]*(?:system|user|assistant)?[ \t]*(?:<\|im_sep\|>)?\n?"
    r"|<\|im_end\|>|<\|im_sep\|>|<\|eot_id\|>|<\|end_of_text\|>|<\|endoftext\|>"
    r"|<\|start_header_id\|>\w*<\|end_header_id\|>|<\|(?:user|assistant|system|end)\|>"
    r"|\[/?INST\]|</s>|<s>"
)
# Upstream stop strings; a trailing one is dropped (engines may or may not include it).
_TRAILING_STOP = re.compile(r"(?:\\clearpage|\\clear|clearpage)\s*$")

_IDEA_HEADER = re.compile(
    r"(?mi)^[ \t]*(?:#{1,6}[ \t]*|\*\*)(motivation|main[ \t]+idea|idea|interestingness|feasibility|novelty)"
    r"[ \t]*(?:\*\*)?[ \t]*:?[ \t]*(?:\*\*)?"
)
# Markdown headers may be glued to a closing fence when turns are concatenated (```## ...).
_SETUP_HEADER = re.compile(r"(?mi)(?:^|(?<=`))[ \t]*#{1,6}[ \t]*experiment(?:al)?[ _]*setups?\b[^\n]*")
_RESULTS_HEADER = re.compile(r"(?mi)(?:^|(?<=`))[ \t]*#{1,6}[ \t]*experiment(?:al)?[ _]*results?\b[^\n]*")
_LATEX_FENCE = re.compile(r"```[ \t]*(?:latex|tex)\b[^\n`]*\n?", re.I)
_JSON_FENCE = re.compile(r"```[ \t]*json\b[^\n`]*\n?", re.I)
_LATEX_START = re.compile(r"\\title\s*[\[{]|\\documentclass|\\begin\s*\{abstract\}|\\section\*?\s*\{")
_ENV = re.compile(r"\\(begin|end)\s*\{([^{}]*)\}")

_SCORES = ("interestingness", "feasibility", "novelty")
_NO_MATCH = re.compile("^").match("")


def parse_paper(text: str, results_simulated: bool = True, finish_reason: str | None = None) -> Paper:
    """Parse one full CycleResearcher generation into a Paper; never raises, never returns None.

    ``finish_reason="length"`` (from the engine) adds a truncation warning.
    """
    return _safe_parse(text, stage1=False, results_simulated=results_simulated, finish_reason=finish_reason)


def parse_stage1(text: str, finish_reason: str | None = None) -> Paper:
    """Parse a generation stopped after the experiment setup (two-stage mode: real results follow).

    Anything the model wrote after the setup (its own simulated results) is dropped with a warning.
    """
    return _safe_parse(text, stage1=True, results_simulated=False, finish_reason=finish_reason)


def complete_paper(paper: Paper, results: Any, turn5_text: str) -> Paper:
    """A copy of ``paper`` finished with REAL results and the model's turn-5 LaTeX.

    ``results`` is the parsed results JSON or its text (slips repaired, with a warning);
    ``turn5_text`` is the raw turn-5 generation (a fenced ``latex`` block, possibly cut by a
    ``\\clearpage`` stop). Results that are no JSON list (or object) of experiments raise
    InputError: there would be no results turn to have given the model.
    """
    warnings = [w for w in paper.warnings if not w.startswith(_RESULT_WARNING_PREFIXES)]
    if isinstance(results, str):
        results = _load_json(results, "experimental results", warnings)
        if results is None:
            raise InputError(
                f"The experimental results could not be read ({warnings[-1]}); expected a JSON list "
                'like [{"name": "...", "result": {"table": [...], "description": "..."}}]'
            )
    turn4 = results_message(results)  # the same bytes as the turn the model is given
    turn5 = turn5_text if isinstance(turn5_text, str) else ""
    results_latex = _extract_turn5(_clean(turn5, warnings), warnings)
    if not results_latex:
        warnings.append(f"{_NO_RESULTS_LATEX}: the turn-5 text holds no LaTeX")
    main = paper.main_latex
    latex = f"{main}\n\n{results_latex}".strip() if results_latex else main
    _check_truncation(results_latex or main, warnings, None)
    # A paper completed before (a redo) or simulated keeps only its turn 3 before the new turns.
    turn3 = paper.generated_text
    old = _RESULTS_HEADER.search(turn3, (_SETUP_HEADER.search(turn3) or _NO_MATCH).end())
    turn3 = turn3[: old.start()] if old else turn3
    generated = TURN_JOINT.join(
        part for part in (turn3.rstrip(), turn4, turn5.strip()) if part
    )
    return _grounded(
        dataclasses.replace(
            paper,
            experimental_results=results,
            results_latex=results_latex,
            latex=latex,
            generated_text=generated,
            warnings=warnings,
            results_simulated=False,
        )
    )


def _grounded(paper: Paper) -> Paper:
    """``paper`` with its grounding check filled in (grounding.GROUNDING_RULE)."""
    items = result_items(paper.experimental_results)
    if not items or not paper.results_latex:
        paper.ungrounded_numbers, paper.grounding = None, None
        return paper
    check = check_grounding(paper.results_latex, items)
    paper.ungrounded_numbers = [u.to_dict() for u in check.ungrounded]
    paper.grounding = check.summary()
    return paper


# ----------------------------------------------------------------------------- internals

_NO_RESULTS = "no '## Experimental_results' block"
_NO_RESULTS_LATEX = "no results LaTeX (turn 5)"
_RESULT_WARNING_PREFIXES = (_NO_RESULTS, _NO_RESULTS_LATEX, "experimental results JSON", "LaTeX ends inside")


def _safe_parse(text: Any, *, stage1: bool, results_simulated: bool, finish_reason: str | None) -> Paper:
    raw = text if isinstance(text, str) else ("" if text is None else str(text))
    try:
        return _parse(raw, stage1=stage1, results_simulated=results_simulated, finish_reason=finish_reason)
    except Exception as exc:  # the parser must never take a batch down; keep the raw text
        return Paper(
            generated_text=raw,
            results_simulated=results_simulated,
            warnings=[f"parser error ({type(exc).__name__}: {exc}); only the raw text is kept"],
        )


def _parse(raw: str, *, stage1: bool, results_simulated: bool, finish_reason: str | None) -> Paper:
    warnings: list[str] = []
    if not raw.strip():
        return Paper(generated_text=raw, results_simulated=results_simulated, warnings=["empty generation"])
    if finish_reason == "length":
        warnings.append("generation stopped at the max-token limit: the paper is probably truncated")
    t = _clean(raw, warnings)

    setup_h = _SETUP_HEADER.search(t)
    results_h = _RESULTS_HEADER.search(t, setup_h.end() if setup_h else 0)
    if stage1 and results_h:
        if t[results_h.start() :].strip():
            warnings.append("stage 1: text after the experiment setup (simulated results) was ignored")
        t = t[: results_h.start()]
        results_h = None

    # --- idea part: everything before the main LaTeX
    main_end = min(m.start() for m in (setup_h, results_h) if m) if (setup_h or results_h) else len(t)
    fence = _LATEX_FENCE.search(t, 0, main_end)
    bare = _LATEX_START.search(t, 0, main_end)
    idea_end = min(m.start() for m in (fence, bare) if m) if (fence or bare) else main_end
    fields = _idea_fields(t[:idea_end], warnings)

    # --- main LaTeX (turn 3)
    if fence:
        start = fence.end()
        close = t.find("```", start, main_end)
        if close < 0:
            close = main_end
            warnings.append("main LaTeX block has no closing ``` fence")
        main = t[start:close]
    elif bare:
        main = t[bare.start() : main_end]
        warnings.append("main LaTeX has no ```latex fence; taken from its first LaTeX command")
    else:
        main = ""
        warnings.append("no LaTeX found (no ```latex fence, no \\title)")
    main = main.strip()

    # --- experimental setup JSON
    setup = None
    if setup_h:
        region_end = results_h.start() if results_h else len(t)
        if not results_h:  # turn 5 may follow without a results header
            nxt = _LATEX_FENCE.search(t, setup_h.end())
            region_end = nxt.start() if nxt else region_end
        setup, _ = _json_block(t, setup_h.end(), region_end, "experimental setup", warnings)
    else:
        warnings.append("no '## Experimental Setup' block")

    # --- results JSON (turn 4) and results LaTeX (turn 5)
    results, results_latex = None, ""
    if results_h:
        results, after = _json_block(t, results_h.end(), len(t), "experimental results", warnings)
        results_latex = _extract_turn5(t[after:], warnings)
        if not results_latex:
            warnings.append(f"{_NO_RESULTS_LATEX}: the generation ends after the results JSON")
    elif not stage1:
        warnings.append(f"{_NO_RESULTS}: no results and no results LaTeX")

    title = _title(main, warnings)
    abstract = _abstract(main, warnings)
    latex = f"{main}\n\n{results_latex}" if main and results_latex else (main or results_latex)
    _check_truncation(results_latex or main, warnings, finish_reason)
    return _grounded(
        Paper(
            title=title,
            abstract=abstract,
            latex=latex,
            experimental_setup=setup,
            experimental_results=results,
            results_latex=results_latex,
            generated_text=raw,
            warnings=warnings,
            results_simulated=results_simulated,
            **fields,
        )
    )


def _clean(text: str, warnings: list[str]) -> str:
    t = text.replace("\r\n", "\n")
    if _TEMPLATE_MARKER.search(t):
        t = _TEMPLATE_MARKER.sub("\n\n", t)
        warnings.append("chat-template markers found between turns and removed")
    return _TRAILING_STOP.sub("", t.rstrip())


def _idea_fields(region: str, warnings: list[str]) -> dict[str, Any]:
    heads = list(_IDEA_HEADER.finditer(region))
    found: dict[str, str] = {}
    for i, m in enumerate(heads):
        name = re.sub(r"\s+", " ", m.group(1).lower())
        name = "idea" if name in ("main idea", "idea") else name
        end = heads[i + 1].start() if i + 1 < len(heads) else len(region)
        found.setdefault(name, region[m.end() : end].strip())
    out: dict[str, Any] = {"motivation": found.get("motivation", ""), "idea": found.get("idea", "")}
    for name, label in (("motivation", "## Motivation"), ("idea", "## Main Idea")):
        if name not in found:
            warnings.append(f"no '{label}' section")
    for name in _SCORES:
        value = as_int(found[name]) if name in found else None
        if name not in found:
            warnings.append(f"no '## {name.capitalize()}' score")
        elif value is None:
            warnings.append(f"'## {name.capitalize()}' has no integer: {found[name][:40]!r}")
        out[name] = value
    return out


def _json_block(t: str, start: int, end: int, what: str, warnings: list[str]) -> tuple[Any, int]:
    """Parse the JSON after a header; return (value, index after the block)."""
    fence = _JSON_FENCE.search(t, start, end)
    if fence and not t[start : fence.start()].strip("` \t\n"):
        body_start = fence.end()
        close = t.find("```", body_start, end)
        if close < 0:
            warnings.append(f"{what} JSON has no closing ``` fence")
            close = end
            after = end
        else:
            after = close + (3 if not re.match(r"```[ \t]*[A-Za-z]", t[close:]) else 0)
        return _load_json(t[body_start:close], what, warnings), after
    # No fence: decode from the first bracket and stop where the JSON value stops.
    m = re.compile(r"[\[{]").search(t, start, end)
    if not m:
        warnings.append(f"{what} JSON missing")
        return None, start
    warnings.append(f"{what} JSON has no ```json fence")
    stop = _LATEX_FENCE.search(t, m.start(), end)
    stop_at = stop.start() if stop else end
    try:
        _, stop = safejson.raw_decode(t, m.start(), what)  # where the value ends
        return read_json(t[m.start() : stop], what), stop  # read again keeping LaTeX literal
    except safejson.NestingError:
        warnings.append(f"{what} JSON is nested too deeply; ignored")
        return None, stop_at
    except ValueError:
        return _load_json(t[m.start() : stop_at], what, warnings), stop_at


def _load_json(s: str, what: str, warnings: list[str]) -> Any:
    s = s.strip().strip("`").strip()
    if not s:
        warnings.append(f"{what} JSON is empty")
        return None
    try:
        return read_json(s, what)  # LaTeX commands in strings stay literal (latex_json.read_json)
    except safejson.NestingError:
        # json_repair would recurse just as deep; a model never writes this on purpose
        warnings.append(f"{what} JSON is nested too deeply; ignored")
        return None
    except ValueError:
        pass
    try:
        import json_repair

        value = json_repair.loads(protect_latex(s))
    except Exception:  # json-repair is best effort; any failure means "unparseable"
        value = None
    if isinstance(value, (list, dict)) and value and not safejson.too_deep(value):
        warnings.append(f"{what} JSON was malformed and has been repaired")
        return value
    warnings.append(f"{what} JSON could not be parsed")
    return None


def _extract_turn5(rest: str, warnings: list[str]) -> str:
    body = rest.strip()
    fence = _LATEX_FENCE.search(body)
    if fence and not body[: fence.start()].strip("` \t\n"):
        close = body.find("```", fence.end())
        # An unclosed final block is the normal case: generation stops at \clearpage.
        return (body[fence.end() : close] if close >= 0 else body[fence.end() :]).strip()
    body = body.strip("`").strip()
    if body:
        warnings.append("results LaTeX has no ```latex fence")
    return body


def _title(latex: str, warnings: list[str]) -> str:
    m = re.search(r"\\title\s*(?:\[[^\]]*\]\s*)?\{", latex)
    if not m:
        warnings.append("no \\title{...} in the LaTeX")
        return ""
    content, closed = group(latex, m.end() - 1)
    if not closed:
        warnings.append("\\title{ is never closed; title taken up to the end of its line")
        content = content.split("\n\n", 1)[0].split("\n", 1)[0]
    return re.sub(r"\s+", " ", content).strip()


def _abstract(latex: str, warnings: list[str]) -> str:
    m = re.search(r"\\begin\s*\{abstract\}(.*?)(\\end\s*\{abstract\}|\\section|$)", latex, re.S)
    if m:
        if not m.group(2).startswith("\\end"):
            warnings.append("abstract has no \\end{abstract}")
        return m.group(1).strip()
    m = re.search(r"\\section\*?\s*\{\s*abstract\s*\}(.*?)(?=\\section|$)", latex, re.S | re.I)
    if m:
        return m.group(1).strip()
    warnings.append("no abstract in the LaTeX")
    return ""


def open_environments(latex: str) -> list[str]:
    """LaTeX environments still open at the end of ``latex`` (innermost last)."""
    stack: list[str] = []
    for m in _ENV.finditer(strip_comments(latex)):
        kind, name = m.group(1), m.group(2).strip()
        if kind == "begin":
            stack.append(name)
        elif name in stack:
            while stack and stack.pop() != name:
                pass
    return stack


def _check_truncation(latex: str, warnings: list[str], finish_reason: str | None) -> None:
    still_open = open_environments(latex)
    if still_open:
        warnings.append(f"LaTeX ends inside \\begin{{{still_open[-1]}}} (generation truncated?)")


__all__ = [
    "Paper",
    "RESULTS_HEADER",
    "TURN_JOINT",
    "complete_paper",
    "open_environments",
    "parse_paper",
    "parse_stage1",
]
