"""The slots every format is built of, per profile, and the score lines the released models write.

Two profiles per format:

* ``bounded`` (the default for the embedded model and models with no trained format): every
  header, fence, score and block is forced; free text is prose from a LaTeX- and JSON-safe
  character set with bounded words per paragraph, so a small model cannot loop inside a slot
  and the whole structure fits in a bounded number of tokens. Shrink ``Bounds`` to finish a full
  structure in a few hundred tokens (tests).
* ``open`` (opt-in for the released models): the same headers and blocks in the same order, but
  free text is anything. The released models' real outputs match it, so constraining them does
  not change what they can write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...models.embedded import EMBEDDED
from .algebra import Cls, Free, Lit, Node, Rep, Rule, alt, seq

Profile = Literal["bounded", "open"]


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
#: the embedded stand-in's default (a whole paper in about 1,500 tokens) and its anti-loop
#: sampling: the one embedded profile (``models.embedded``) holds them, these names are aliases
EMBEDDED_BOUNDS = Bounds(**EMBEDDED.bounds)
EMBEDDED_REPEAT_PENALTY = EMBEDDED.repeat_penalty
EMBEDDED_REPEAT_WINDOW = EMBEDDED.repeat_window
TINY = Bounds(words=6, min_words=1, paragraphs=1, title_words=4, experiments=1, reviewers=1, word_chars=8)


class Kit:
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


def score(kit: Kit, node: Node) -> Node:
    return Free() if kit.open else node


def slot(kit: Kit, kind: str) -> Node:
    """A review field's value: ``p`` paragraph, ``s`` 1-4 score, ``r`` rating, ``c`` confidence,
    ``e`` ethics line, ``d`` decision."""
    return {
        "p": kit.para(),
        "s": score(kit, SCORE4),
        "r": score(kit, RATING),
        "c": score(kit, CONF),
        "e": Free() if kit.open else Lit("No ethics review needed."),
        "d": score(kit, DECISION),
    }[kind]
