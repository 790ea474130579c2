"""How long a bounded structure can get, in tokens, and the bounds that make it fit a token budget.

A grammar bounds words, not tokens: a DeepReviewer Standard review of 4 simulated reviewers has 26
paragraphs of at most 40 words, and when the embedded model writes made-up words at 3 tokens a
word the whole structure no longer fits 3,072 new tokens, so the final review and the decision
are cut off. ``fit_bounds`` lowers the words per paragraph until the longest output the grammar
allows fits ``max_tokens``: the fixed text (headers, fences, score lines) at the larger of the
engine's token count and ``FIXED_CHARS_PER_TOKEN``, plus every free word at ``tokens_per_word``.

``tokens_per_word`` is a measured bound, not a proof (a word of 12 characters may take 12
tokens): ``EMBEDDED_TOKENS_PER_WORD`` is above the rates seen in the embedded model's constrained
outputs (benchmarks/structure.py reports them, and the most new tokens a Standard review took).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ...models.embedded import EMBEDDED
from .algebra import Alt, Cls, Free, Lit, Node, Rep, Rule, Seq
from .slots import Bounds

#: tokens a free word takes at most in the embedded model's constrained outputs, with headroom
#: (``models.embedded``): the two DeepReviewer Standard reviews that ran out of 3,072 tokens took
#: 2.95 and 3.06 new tokens per word of the whole output (made-up words like "Ajtilmahkirn", split
#: into small pieces by constrained sampling); its papers take 1.6-2.1
EMBEDDED_TOKENS_PER_WORD = EMBEDDED.tokens_per_word
#: characters a token of the fixed text takes at least under constrained sampling: the model's
#: own next token rarely matches a forced header, and the resample picks any token that fits it,
#: often a single character, so fixed text came out at 1.6 characters a token on the embedded
#: model where its canonical tokenization takes 3.1
FIXED_CHARS_PER_TOKEN = 1.5


@dataclass(frozen=True)
class Capacity:
    """The longest output of a structure: its fixed text and its free words (None: unbounded)."""

    scaffold: str
    words: int | None


def capacity(node: Node) -> Capacity:
    """The fixed text on the longest path through ``node`` and the most free words it allows.

    A word is one use of the ``word`` rule (``slots.Kit``); the space before it counts as part of
    the word. A character class outside a word (a score digit) counts as one character."""
    if isinstance(node, Lit):
        return Capacity("" if node.text == " " else node.text, 0)
    if isinstance(node, Cls):
        return Capacity("0", 0)
    if isinstance(node, Free):
        return Capacity("", None)
    if isinstance(node, Rule):
        return Capacity("", 1) if node.name == "word" else capacity(node.body)
    if isinstance(node, Seq):
        parts = [capacity(i) for i in node.items]
        words = None if any(p.words is None for p in parts) else sum(p.words or 0 for p in parts)
        return Capacity("".join(p.scaffold for p in parts), words)
    if isinstance(node, Alt):
        options = [capacity(i) for i in node.items]
        if any(o.words is None for o in options):
            return Capacity(max((o.scaffold for o in options), key=len), None)
        return max(options, key=lambda o: (o.words or 0, len(o.scaffold)))
    if isinstance(node, Rep):
        inner = capacity(node.item)
        if node.hi is None:
            bounded = inner.words == 0 and not inner.scaffold
            return Capacity("", 0) if bounded else Capacity(inner.scaffold, None)
        return Capacity(inner.scaffold * node.hi, None if inner.words is None else inner.words * node.hi)
    raise TypeError(f"unknown grammar node {type(node).__name__}")


@dataclass(frozen=True)
class FittedBounds:
    bounds: Bounds
    #: the longest output the fitted grammar allows, in tokens (the estimate that was fitted)
    worst_tokens: int
    #: what was lowered and why (None when the bounds fit as given)
    note: str | None = None
    #: False when not even one word a paragraph fits (``bounds`` are then the given ones)
    fits: bool = True
    #: when it does not fit: the tokens the structure takes at 1 word a paragraph (its least)
    floor: int | None = None


def fit_bounds(
    build: Callable[[Bounds], Node],
    bounds: Bounds,
    max_tokens: int,
    count_tokens: Callable[[str], int],
    tokens_per_word: float = EMBEDDED_TOKENS_PER_WORD,
) -> FittedBounds:
    """The largest ``words`` per paragraph (at most ``bounds.words``) whose structure
    ``build(bounds)`` fits ``max_tokens`` at ``tokens_per_word``; the fixed text is counted once
    (it does not change with ``words``)."""
    first = capacity(build(bounds))
    if first.words is None:
        raise ValueError("fit_bounds needs a bounded structure (the 'bounded' profile)")
    fixed = max(count_tokens(first.scaffold), int(len(first.scaffold) / FIXED_CHARS_PER_TOKEN + 0.999))

    def worst(b: Bounds) -> int:
        cap = first if b == bounds else capacity(build(b))
        return int(fixed + tokens_per_word * (cap.words or 0) + 0.999)

    tokens = worst(bounds)
    if tokens <= max_tokens:
        return FittedBounds(bounds, tokens)
    for w in range(bounds.words - 1, 0, -1):
        b = replace(bounds, words=w, min_words=min(bounds.min_words, w))
        tokens = worst(b)
        if tokens <= max_tokens:
            return FittedBounds(
                b,
                tokens,
                f"free text bounded to {w} words a paragraph (from {bounds.words}) so that the whole "
                f"structure fits {max_tokens} new tokens",
            )
    # nothing fits: the output is cut either way, and one word a paragraph would leave little but
    # headers (a 48-token paper then had too few tokens to score), so the bounds stay as given
    return FittedBounds(
        bounds,
        worst(bounds),
        f"the structure does not fit {max_tokens} new tokens even at 1 word a paragraph (about "
        f"{tokens} tokens): raise max_tokens or lower the number of reviewers",
        fits=False,
        floor=tokens,
    )
