"""The grammar algebra: a structure described once as nodes (literal, character class, sequence,
alternative, repetition, named rule, free text) renders to a GBNF grammar (llama.cpp, vLLM,
SGLang), to an equivalent Python regex (to check what a model wrote) and to random strings (to
test that the parsers accept what the grammar allows).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

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
        if self.hi == 0:  # nothing: llguidance's reader (the hf engine) refuses x{0,0}
            return '""'
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


# --------------------------------------------------------------------------- rendering


#: every grammar rendered in this process, back to its description: an engine holds only the GBNF
#: string, and ``follows`` uses this to check what a server returned
_RENDERED: dict[str, Node] = {}


def to_gbnf(node: Node) -> str:
    """The GBNF grammar (llama.cpp syntax; vLLM / SGLang's xgrammar read it too)."""
    rules: dict[str, str] = {}
    root = node.gbnf(rules)
    lines = [f"root ::= {root}"] + [f"{name} ::= {body}" for name, body in rules.items()]
    gbnf = "\n".join(lines) + "\n"
    _RENDERED.setdefault(gbnf, node)
    return gbnf


def to_regex(node: Node) -> re.Pattern[str]:
    return re.compile(node.regex())


def matches(node: Node, text: str) -> bool:
    """Whether ``text`` is in the grammar's language (the Python equivalent of the GBNF)."""
    return to_regex(node).fullmatch(text) is not None


def could_match(node: Node, text: str) -> bool:
    """Whether ``text`` is a string of the grammar or the start of one (a completion cut at
    max_tokens or at a stop string is only a prefix). ``regex`` has the partial matching that
    ``re`` lacks."""
    import regex

    return regex.fullmatch(node.regex(), text, partial=True) is not None


def follows(grammar: str, text: str) -> bool | None:
    """Whether ``text`` follows the GBNF ``grammar`` as far as it goes; None for a grammar not
    rendered by ``to_gbnf`` in this process (nothing to check it with)."""
    node = _RENDERED.get(grammar)
    return None if node is None else could_match(node, text)


def sample(node: Node, seed: int = 0, fill: bool = True) -> str:
    """A random string of the grammar; ``fill`` keeps sampled free text to plain words."""
    out: list[str] = []
    node.sample(random.Random(seed), out, fill)
    return "".join(out)
