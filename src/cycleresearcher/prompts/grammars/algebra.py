r"""Output structure of every model format, as one description that renders to a GBNF grammar
(llama.cpp, vLLM, SGLang), to an equivalent Python regex (to check what a model wrote) and to
random strings (to test that the parsers accept what the grammar allows).

Two profiles per format:

* ``bounded`` (the default for the embedded model and models with no trained format): every
  header, fence, score and block is forced; free text is prose from a LaTeX- and JSON-safe
  character set with bounded words per paragraph, so a small model cannot loop inside a slot
  and the whole structure fits in ``Bounds.budget()`` tokens. Shrink ``Bounds`` to finish a full
  structure in a few hundred tokens (tests).
* ``open`` (opt-in for the released models): the same headers and blocks in the same order, but
  free text is anything. The released models' real outputs match it, so constraining them does
  not change what they can write.

Grammars are pure strings: engines receive ``SamplingParams.grammar`` and know nothing of formats.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from typing import Literal

Profile = Literal["bounded", "open"]

# --------------------------------------------------------------------------- the description


class Node:
    def gbnf(self, rules: dict[str, str]) -> str:
        raise NotImplementedError

    def regex(self) -> str:
        raise NotImplementedError

    def sample(self, rng: random.Random, out: list[str], fill: bool) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Lit(Node):
    text: str

    def gbnf(self, rules: dict[str, str]) -> str:
        return '"' + "".join(_gbnf_char(c, in_class=False) for c in self.text) + '"'

    def regex(self) -> str:
        return re.escape(self.text)

    def sample(self, rng: random.Random, out: list[str], fill: bool) -> None:
        out.append(self.text)


#: characters a random string may use for a class (the class then filters them)
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:()'/-!?\"\n#`\\{}$%&_^~*"
_SAFE_FILL = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Cls(Node):
    """A character class: ``chars`` listed literally (ranges as ``a-z``), ``negate`` for ``[^...]``."""

    chars: str
    negate: bool = False

    def _members(self) -> list[tuple[str, str]]:
        out, i, s = [], 0, self.chars
        while i < len(s):
            if i + 2 < len(s) and s[i + 1] == "-":
                out.append((s[i], s[i + 2]))
                i += 3
            else:
                out.append((s[i], s[i]))
                i += 1
        return out

    def gbnf(self, rules: dict[str, str]) -> str:
        body = "".join(
            _gbnf_char(a, True) if a == b else f"{_gbnf_char(a, True)}-{_gbnf_char(b, True)}"
            for a, b in self._members()
        )
        return f"[{'^' if self.negate else ''}{body}]"

    def regex(self) -> str:
        body = "".join(_re_char(a) if a == b else f"{_re_char(a)}-{_re_char(b)}" for a, b in self._members())
        return f"[{'^' if self.negate else ''}{body}]"

    def accepts(self, c: str) -> bool:
        inside = any(a <= c <= b for a, b in self._members())
        return inside != self.negate

    def sample(self, rng: random.Random, out: list[str], fill: bool) -> None:
        pool = [c for c in (_SAFE_FILL if fill else _ALPHABET) if self.accepts(c)] or [
            c for c in _ALPHABET if self.accepts(c)
        ]
        out.append(rng.choice(pool))


@dataclass(frozen=True)
class Seq(Node):
    items: tuple[Node, ...]

    def gbnf(self, rules: dict[str, str]) -> str:
        return "(" + " ".join(i.gbnf(rules) for i in self.items) + ")"

    def regex(self) -> str:
        return "".join(i.regex() for i in self.items)

    def sample(self, rng: random.Random, out: list[str], fill: bool) -> None:
        for i in self.items:
            i.sample(rng, out, fill)


@dataclass(frozen=True)
class Alt(Node):
    items: tuple[Node, ...]

    def gbnf(self, rules: dict[str, str]) -> str:
        return "(" + " | ".join(i.gbnf(rules) for i in self.items) + ")"

    def regex(self) -> str:
        return "(?:" + "|".join(i.regex() for i in self.items) + ")"

    def sample(self, rng: random.Random, out: list[str], fill: bool) -> None:
        rng.choice(self.items).sample(rng, out, fill)


@dataclass(frozen=True)
class Rep(Node):
    item: Node
    lo: int = 0
    hi: int | None = None  # None: unbounded

    def gbnf(self, rules: dict[str, str]) -> str:
        inner = self.item.gbnf(rules)
        if (self.lo, self.hi) == (0, None):
            return f"{inner}*"
        if (self.lo, self.hi) == (1, None):
            return f"{inner}+"
        if (self.lo, self.hi) == (0, 1):
            return f"{inner}?"
        return f"{inner}{{{self.lo},{'' if self.hi is None else self.hi}}}"

    def regex(self) -> str:
        # lazy: the same language, but matching a long text does not scan to its end at every slot
        hi = "" if self.hi is None else self.hi
        return f"(?:{self.item.regex()}){{{self.lo},{hi}}}?"

    def sample(self, rng: random.Random, out: list[str], fill: bool) -> None:
        hi = self.hi if self.hi is not None else self.lo + 6
        for _ in range(rng.randint(self.lo, hi)):
            self.item.sample(rng, out, fill)


@dataclass(frozen=True)
class Rule(Node):
    """A named rule: written once in the GBNF, inlined in the regex."""

    name: str
    body: Node

    def gbnf(self, rules: dict[str, str]) -> str:
        if self.name not in rules:
            rules[self.name] = ""  # reserve the name before recursing
            rules[self.name] = self.body.gbnf(rules)
        return self.name

    def regex(self) -> str:
        return f"(?:{self.body.regex()})"

    def sample(self, rng: random.Random, out: list[str], fill: bool) -> None:
        self.body.sample(rng, out, fill)


@dataclass(frozen=True)
class Free(Node):
    """A free-text slot of the ``open`` profile: any text. Sampled as safe prose (``fill``)."""

    def gbnf(self, rules: dict[str, str]) -> str:
        rules.setdefault("any", r"[^\x00]*")
        return "any"

    def regex(self) -> str:
        return r"[\s\S]*?"

    def sample(self, rng: random.Random, out: list[str], fill: bool) -> None:
        out.append(" ".join(rng.choice(["alpha", "beta", "model", "data", "results"]) for _ in range(5)))


def _gbnf_char(c: str, in_class: bool) -> str:
    table = {"\n": r"\n", "\t": r"\t", "\r": r"\r", "\\": r"\\", '"': r"\"", "\x00": r"\x00"}
    if c in table:
        return table[c]
    if in_class and c in "]^-[":
        return "\\" + c
    return c


def _re_char(c: str) -> str:
    return re.escape(c) if c not in "\n\t" else {"\n": r"\n", "\t": r"\t"}[c]


def seq(*items: Node | str) -> Seq:
    return Seq(tuple(Lit(i) if isinstance(i, str) else i for i in items))


def alt(*items: Node | str) -> Alt:
    return Alt(tuple(Lit(i) if isinstance(i, str) else i for i in items))


# --------------------------------------------------------------------------- building blocks


@dataclass(frozen=True)
class Bounds:
    """Sizes of the free-text slots of the ``bounded`` profile (words per paragraph, counts)."""

    words: int = 60  # at most, per paragraph
    min_words: int = 8
    paragraphs: int = 2  # per LaTeX section
    title_words: int = 14
    experiments: int = 3  # in the setup / results JSON lists
    reviewers: int = 4  # CycleReviewer reviews, DeepReviewer simulated reviewers
    word_chars: int = 24

    def __post_init__(self) -> None:
        if not 1 <= self.min_words <= self.words:
            raise ValueError(f"need 1 <= min_words <= words, got {self.min_words}, {self.words}")
        if min(self.paragraphs, self.title_words, self.experiments, self.reviewers) < 1:
            raise ValueError("paragraphs, title_words, experiments and reviewers must be >= 1")


#: prose safe inside LaTeX and JSON strings: no backslash, braces, quotes, #, `, $, %, &, _, ^, ~
_WORD_CHARS = "A-Za-z0-9.,;:()'/!?-"
#: the embedded stand-in's default: a whole paper in about 1,500 tokens
EMBEDDED_BOUNDS = Bounds(words=40, min_words=8, paragraphs=1, title_words=12, experiments=2, word_chars=12)
#: the embedded model's repetition penalty (llama.cpp ``repeat_penalty`` over the last 64 tokens),
#: chosen by the repeated-4-gram rate measured in benchmarks/structure.py
EMBEDDED_REPEAT_PENALTY = 1.0
TINY = Bounds(words=6, min_words=1, paragraphs=1, title_words=4, experiments=1, reviewers=1, word_chars=8)


class _Kit:
    """The slots of one profile."""

    def __init__(self, profile: Profile, b: Bounds):
        self.open = profile == "open"
        self.b = b
        word = Rule("word", Rep(Cls(_WORD_CHARS), 1, b.word_chars))
        self._word = word
        self._para = Rule("para", seq(word, Rep(seq(" ", word), b.min_words - 1, b.words - 1)))

    def para(self) -> Node:
        """One paragraph (bounded) or any text (open)."""
        return Free() if self.open else self._para

    def paras(self) -> Node:
        if self.open:
            return Free()
        return Rule("paras", seq(self._para, Rep(seq("\n\n", self._para), 0, self.b.paragraphs - 1)))

    def words(self, hi: int) -> Node:
        if self.open:
            return Free()
        return seq(self._word, Rep(seq(" ", self._word), 0, hi - 1))

    def ws(self) -> Node:
        return Rule("ws", Rep(Cls(" \t\n"), 0, None)) if self.open else Lit("")

    def line(self) -> Node:
        """A score line: forced choices (bounded) or any text (open)."""
        return Free()


# scores as the released models write them
SCORE4 = Rule("score4", alt("1 poor", "2 fair", "3 good", "4 excellent"))
RATING = Rule(
    "rating",
    alt(
        "1: strong reject",
        "3: reject, not good enough",
        "5: marginally below the acceptance threshold",
        "6: marginally above the acceptance threshold",
        "8: accept, good paper",
        "10: strong accept, should be highlighted at the conference",
    ),
)
CONF = Rule("conf", alt("1", "2", "3", "4", "5"))
DECISION = Rule("decision", alt("Accept", "Reject"))
SELF_SCORE = Rule("selfscore", alt(*[str(i) for i in range(10, 0, -1)]))
DEC_SCORE = Rule("decscore", seq(Cls("1-4"), ".", Cls("0-9"), Rep(Cls("0-9"), 0, 1)))
DEC_RATING = Rule("decrating", alt("10.0", seq(Cls("1-9"), ".", Cls("0-9"), Rep(Cls("0-9"), 0, 1))))
INT_OPEN = Rule("int", seq(Rep(Cls(" \t"), 0, None), Rep(Cls("0-9"), 1, 2), Free()))


def _score(kit: _Kit, node: Node) -> Node:
    return Free() if kit.open else node


# --------------------------------------------------------------------------- CycleResearcher


def _json_list(kit: _Kit, item: Node) -> Node:
    if kit.open:
        return Free()
    return seq("[", item, Rep(seq(", ", item), 0, kit.b.experiments - 1), "]")


def _fence_close(kit: _Kit) -> Node:
    return Lit("```") if kit.open else Lit("\n```")  # real JSON blocks end glued: ...}]```


def _jstr(kit: _Kit, hi: int) -> Node:
    return seq('"', kit.words(hi), '"')


def _latex_block(kit: _Kit, sections: tuple[str, ...], head: Node | None = None) -> Node:
    if kit.open:
        return seq("```latex", Free(), "```")
    parts: list[Node | str] = ["```latex\n"]
    if head is not None:
        parts.append(head)
    for i, name in enumerate(sections):
        parts += [("\n\n" if i or head is not None else "") + f"\\section{{{name}}}\n\n", kit.paras()]
    parts.append("\n```")
    return seq(*parts)


def researcher_stage1(profile: Profile = "bounded", bounds: Bounds | None = None) -> Node:
    """Turn 3: idea, self-scores, main LaTeX (title, abstract, sections) and the setup JSON."""
    kit = _Kit(profile, bounds or Bounds())
    score = INT_OPEN if kit.open else SELF_SCORE
    head = seq(
        "\\title{", kit.words(kit.b.title_words), "}\n\n\\begin{abstract}\n", kit.para(), "\n\\end{abstract}"
    )
    experiment = seq('{"name": ', _jstr(kit, 8), ', "description": ', _jstr(kit, kit.b.words), "}")
    return seq(
        kit.ws(),
        "## Motivation\n\n", kit.para(),
        "\n\n## Main Idea\n\n", kit.para(),
        "\n\n## Interestingness\n\n", score,
        "\n\n## Feasibility\n\n", score,
        "\n\n## Novelty\n\n", score,
        "\n\n", _latex_block(kit, ("Introduction", "Related Work", "Method"), head),
        kit.ws(), "\n\n## Experimental Setup\n\n```json\n", _json_list(kit, experiment), _fence_close(kit),
    )  # fmt: skip


def researcher_turn5(profile: Profile = "bounded", bounds: Bounds | None = None) -> Node:
    """Turn 5: the results LaTeX (after real or simulated results)."""
    kit = _Kit(profile, bounds or Bounds())
    return seq(kit.ws(), _latex_block(kit, ("Experiments", "Results", "Conclusion")), kit.ws())


def researcher_results(profile: Profile = "bounded", bounds: Bounds | None = None) -> Node:
    """Turn 4 written by the model itself (simulated results) followed by turn 5."""
    kit = _Kit(profile, bounds or Bounds())
    cell = _jstr(kit, 4)
    number = seq('"', Cls("1-9"), Rep(Cls("0-9"), 0, 1), ".", Cls("0-9"), '"')
    row = seq("[", cell, ", ", number, "]")
    table = seq('[["Method", "Score"], ', row, Rep(seq(", ", row), 0, 2), "]")
    item = seq('{"name": ', _jstr(kit, 8), ', "result": {"table": ', table, ', "description": ',
               _jstr(kit, kit.b.words), "}}")  # fmt: skip
    return seq(
        kit.ws(), "## Experimental_results\n\n```json\n", _json_list(kit, item), _fence_close(kit),
        kit.ws() if kit.open else Lit("\n\n"), researcher_turn5(profile, bounds),
    )  # fmt: skip


def researcher_paper(profile: Profile = "bounded", bounds: Bounds | None = None) -> Node:
    """A whole one-shot generation (EOS ignored upstream): turn 3, turn 4 and turn 5."""
    sep: Node = _Kit(profile, bounds or Bounds()).ws() if profile == "open" else Lit("\n\n")
    return seq(researcher_stage1(profile, bounds), sep, researcher_results(profile, bounds))


# --------------------------------------------------------------------------- CycleReviewer


_CR_FIELDS = (("Summary", "p"), ("Soundness", "s"), ("Presentation", "s"), ("Contribution", "s"),
              ("Strengths", "p"), ("Weaknesses", "p"), ("Questions", "p"),
              ("Flag For Ethics Review", "e"), ("Rating", "r"), ("Confidence", "c"))  # fmt: skip


def _slot(kit: _Kit, kind: str) -> Node:
    return {
        "p": kit.para(),
        "s": _score(kit, SCORE4),
        "r": _score(kit, RATING),
        "c": _score(kit, CONF),
        "e": Free() if kit.open else Lit("No ethics review needed."),
        "d": _score(kit, DECISION),
    }[kind]


def cyclereviewer(profile: Profile = "bounded", bounds: Bounds | None = None, fmt: str = "a") -> Node:
    """Format A (8B / 70B: ``## Field`` reviews split by ``**********``) or B (123B: ``## Reviewer``
    + ``### Field``); then ``## Meta Review`` and ``## Paper Decision``."""
    kit = _Kit(profile, bounds or Bounds())
    level = "##" if fmt == "a" else "###"
    parts: list[Node | str] = []
    for i, (name, kind) in enumerate(_CR_FIELDS):
        parts += [("" if i == 0 else "\n\n") + f"{level} {name}\n\n", _slot(kit, kind)]
    review = Rule(f"review{fmt}", seq(*parts))
    if fmt == "b":
        review = Rule("reviewb-h", seq("## Reviewer\n\n", review))
    sep = "\n\n**********\n\n" if fmt == "a" else "\n\n"
    many = (
        Rep(seq(sep, review), 0, None)
        if kit.open
        else Rep(seq(sep, review), kit.b.reviewers - 1, kit.b.reviewers - 1)
    )
    return seq(
        kit.ws(), review, many,
        "\n\n" if fmt == "b" else "\n\n**********\n\n" if not kit.open else kit.ws(),
        "## Meta Review\n\n", kit.para(), "\n\n## Paper Decision\n\n", _slot(kit, "d"), kit.ws(),
    )  # fmt: skip


# --------------------------------------------------------------------------- DeepReviewer

_DR_SIM = (("Summary", "p"), ("Soundness", "s"), ("Presentation", "s"), ("Contribution", "s"),
           ("Strengths", "p"), ("Weaknesses", "p"), ("Suggestions", "p"), ("Questions", "p"),
           ("Rating", "r"), ("Confidence", "c"))  # fmt: skip


def _final_review(kit: _Kit) -> Node:
    parts: list[Node | str] = ["\\boxed_review{\n"]
    for i, (name, kind) in enumerate(_DR_SIM):
        value = {"s": _score(kit, DEC_SCORE), "r": _score(kit, DEC_RATING), "c": _score(kit, DEC_SCORE)}.get(
            kind, kit.para()
        )
        parts += [("" if i == 0 else "\n\n") + f"## {name}:\n\n", value]
    parts += ["\n\n## Decision:\n\n", _slot(kit, "d"), "\n}"]
    return Rule("finalreview", seq(*parts))


def _block(kit: _Kit, name: str, body: Node) -> Node:
    if kit.open:  # real blocks may close on the last line of text ("...applications.}")
        return seq(f"\\boxed_{name}{{", Free(), "}")
    return seq(f"\\boxed_{name}{{\n", body, "\n}")


def _simreviewers(kit: _Kit) -> Node:
    def reviewer(i: int | None) -> Node:
        parts: list[Node | str] = ["## Reviewer ", Rep(Cls("0-9"), 1, 2) if i is None else str(i), "\n\n"]
        for j, (name, kind) in enumerate(_DR_SIM):
            parts += [("" if j == 0 else "\n\n") + f"### {name}\n\n", _slot(kit, kind)]
        return seq(*parts)

    sep = "\n\n**********\n\n"
    if kit.open:
        body: Node = seq(kit.ws(), reviewer(None), Rep(seq(Free(), reviewer(None)), 0, None), Free())
    else:
        body = seq(*[x for i in range(1, kit.b.reviewers + 1) for x in ((sep if i > 1 else ""), reviewer(i))])
    return _block(kit, "simreviewers", body)


def _gap(kit: _Kit) -> Node:
    return Free() if kit.open else Lit("\n\n")


def deepreviewer(mode: str = "standard", profile: Profile = "bounded", bounds: Bounds | None = None,
                 turn: int = 2) -> Node:  # fmt: skip
    """Fast: ``\\boxed_review``. Standard and Best turn 2: simulated reviewers, verification,
    final review. Best turn 1: three questions and the analysis."""
    kit = _Kit(profile, bounds or Bounds())
    lead = Free() if kit.open else Lit("")
    if mode == "fast":
        return seq(lead, _final_review(kit), kit.ws() if not kit.open else Free())
    if mode == "best" and turn == 1:
        question = kit.words(20) if not kit.open else Free()
        qs = seq(question, "\n", question, "\n", question) if not kit.open else Free()
        return seq(
            lead,
            _block(kit, "questions", qs),
            _gap(kit),
            _block(kit, "analysis", kit.para()),
            Free() if kit.open else Lit(""),
        )
    if mode not in ("standard", "best"):
        raise ValueError(f"unknown DeepReviewer mode {mode!r}")
    return seq(
        lead, _simreviewers(kit), _gap(kit), _block(kit, "verification", kit.para()), _gap(kit),
        _final_review(kit), Free() if kit.open else Lit(""),
    )  # fmt: skip


# --------------------------------------------------------------------------- rendering


def to_gbnf(node: Node) -> str:
    """The GBNF grammar (llama.cpp syntax; vLLM / SGLang's xgrammar read it too)."""
    rules: dict[str, str] = {}
    root = node.gbnf(rules)
    lines = [f"root ::= {root}"] + [f"{name} ::= {body}" for name, body in rules.items()]
    return "\n".join(lines) + "\n"


def to_regex(node: Node) -> re.Pattern[str]:
    return re.compile(node.regex())


def matches(node: Node, text: str) -> bool:
    """Whether ``text`` is in the grammar's language (the Python equivalent of the GBNF)."""
    return to_regex(node).fullmatch(text) is not None


def sample(node: Node, seed: int = 0, fill: bool = True) -> str:
    """A random string of the grammar; ``fill`` keeps sampled free text to plain words."""
    out: list[str] = []
    node.sample(random.Random(seed), out, fill)
    return "".join(out)


#: a structure's name -> builder(profile, bounds)
def structure(name: str, profile: Profile = "bounded", bounds: Bounds | None = None) -> Node:
    """``researcher`` (one-shot paper), ``researcher-stage1``, ``researcher-turn5``,
    ``cyclereviewer`` / ``cyclereviewer-b``, ``deepreviewer-fast`` / ``-standard`` / ``-best1`` / ``-best2``."""
    builders = {
        "researcher": lambda: researcher_paper(profile, bounds),
        "researcher-stage1": lambda: researcher_stage1(profile, bounds),
        "researcher-turn5": lambda: researcher_turn5(profile, bounds),
        "cyclereviewer": lambda: cyclereviewer(profile, bounds, "a"),
        "cyclereviewer-b": lambda: cyclereviewer(profile, bounds, "b"),
        "deepreviewer-fast": lambda: deepreviewer("fast", profile, bounds),
        "deepreviewer-standard": lambda: deepreviewer("standard", profile, bounds),
        "deepreviewer-best1": lambda: deepreviewer("best", profile, bounds, turn=1),
        "deepreviewer-best2": lambda: deepreviewer("best", profile, bounds, turn=2),
    }
    if name not in builders:
        raise ValueError(f"unknown structure {name!r}; one of {', '.join(builders)}")
    return builders[name]()


STRUCTURES = (
    "researcher", "researcher-stage1", "researcher-turn5", "cyclereviewer", "cyclereviewer-b",
    "deepreviewer-fast", "deepreviewer-standard", "deepreviewer-best1", "deepreviewer-best2",
)  # fmt: skip


def grammar_for(name: str, profile: Profile = "bounded", bounds: Bounds | None = None) -> str:
    return to_gbnf(structure(name, profile, bounds))


def resolve_constrain(constrain: bool | None, embedded: bool) -> bool:
    """``None`` (auto): on for the embedded stand-in (it has no trained format), off for the
    released models (they follow their format already; constraining is opt-in)."""
    return embedded if constrain is None else bool(constrain)


def profile_for(embedded: bool) -> Profile:
    return "bounded" if embedded else "open"


def grammar_if(constrain: bool | None, embedded: bool, name: str, bounds: Bounds | None = None) -> str | None:
    """The GBNF for structure ``name`` when constraining is on (auto: the embedded model), else None.
    The embedded model gets the bounded profile, any other model the open one."""
    if not resolve_constrain(constrain, embedded):
        return None
    return grammar_for(name, profile_for(embedded), bounds or (EMBEDDED_BOUNDS if embedded else None))


__all__ = [
    "Bounds",
    "STRUCTURES",
    "TINY",
    "EMBEDDED_BOUNDS",
    "EMBEDDED_REPEAT_PENALTY",
    "grammar_for",
    "grammar_if",
    "matches",
    "profile_for",
    "replace",
    "resolve_constrain",
    "sample",
    "structure",
    "to_gbnf",
]
