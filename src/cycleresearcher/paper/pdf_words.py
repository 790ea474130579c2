"""Words glued together where a PDF has no spaces, split again.

Some PDFs place each word by position and carry no space characters (some fonts, some
producers); extractors then join the words: ``Weproposetoousourcepartofcomputations``,
``NaturalLanguageProcessing(NLP)(Zangarietal.,``. Such a line has far too few spaces for its
letters. Only on such lines are runs of letters that are not words split, with wordninja (MIT:
a unigram model of English Wikipedia, 126k words, bundled with the package); everywhere else a
long unknown word is left alone unless it is all lower case and splits into at least three
words (``whilestillpreserving``): names, identifiers (``RandomForestClassifier``) and long real
words (``interpretability``) stay as written.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path

#: a line is spaceless when it has this many letters at least and this many letters per space
SPACELESS_MIN_LETTERS = 25
SPACELESS_LETTERS_PER_SPACE = 14.0
#: on an ordinary line, an all-lower-case run this long that is no word may still be split
LONG_RUN = 18
#: tokens of at least this many letters that are no word count as glued (the benchmark's measure)
GLUED_MIN_LETTERS = 13

_RUN_RE = re.compile(r"[A-Za-z]+")


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """wordninja's word list (lower case)."""
    import wordninja  # a module with its data folder beside it, not a package

    path = Path(wordninja.__file__).parent / "wordninja" / "wordninja_words.txt.gz"
    return frozenset(gzip.decompress(path.read_bytes()).decode("utf-8").split())


def _split(run: str) -> list[str]:
    import wordninja

    return wordninja.split(run) or [run]


#: short words a glued run may hold; any other piece under 3 letters means a bad split
#: ('eigendecomposition' -> 'ei gen decomposition')
_SHORT = frozenset(
    {
        "a",
        "an",
        "as",
        "at",
        "be",
        "by",
        "do",
        "if",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "so",
        "to",
        "up",
        "we",
    }
)
#: chunks that are no prose: URLs, e-mail addresses, paths, LaTeX or code, dotted names
_CODE_RE = re.compile(r"://|@|/|\\|_|[{}=<>]|www\.|[a-z]\.[a-z]")


def _is_spaceless(chunks: list[str]) -> bool:
    prose = [c for c in chunks if not _CODE_RE.search(c)]
    letters = sum(ch.isalpha() for c in prose for ch in c)
    return letters >= SPACELESS_MIN_LETTERS and letters / max(len(prose), 1) >= SPACELESS_LETTERS_PER_SPACE


def _good_split(pieces: list[str], words: frozenset[str]) -> bool:
    return len(pieces) >= 3 and all(
        p.lower() in words and (len(p) >= 3 or p.lower() in _SHORT) for p in pieces
    )


def split_glued(text: str) -> tuple[str, int]:
    """The text with glued words split, and how many runs were split."""
    words = known_words()
    count = 0

    def fix_run(run: str, spaceless: bool) -> str:
        nonlocal count
        if len(run) < 6 or run.lower() in words:
            return run
        if spaceless and len(run) > 7 and run.endswith("etal"):
            # a citation's author: the model knows 'et al' but not the name ('Zangarietal')
            count += 1
            return run[:-4] + " et al"
        if spaceless:
            pieces = _split(run)
        elif len(run) >= LONG_RUN and run.islower():
            pieces = _split(run)
            if not _good_split(pieces, words):
                return run
        else:
            return run
        if len(pieces) < 2:
            return run
        count += 1
        return " ".join(pieces)

    def fix_chunk(chunk: str, spaceless: bool) -> str:
        if _CODE_RE.search(chunk):
            return chunk
        fixed = _RUN_RE.sub(lambda m: fix_run(m.group(0), spaceless), chunk)
        if spaceless:
            # '(NLP)(Zangari' -> '(NLP) (Zangari'; ',word' -> ', word'; 'word(' -> 'word ('
            fixed = re.sub(r"\)(?=[(A-Za-z])", ") ", fixed)
            fixed = re.sub(r"([,;:])(?=[A-Za-z(])", r"\1 ", fixed)
            fixed = re.sub(r"(?<=[a-z])\(", " (", fixed)
        return fixed

    def fix_line(line: str) -> str:
        parts = re.split(r"(\s+)", line)
        spaceless = _is_spaceless(parts[::2])
        return "".join(p if i % 2 else fix_chunk(p, spaceless) for i, p in enumerate(parts))

    return "\n".join(fix_line(ln) for ln in text.split("\n")), count


def glued_tokens(text: str) -> list[str]:
    """Runs of letters of ``GLUED_MIN_LETTERS`` or more that are no word of the list (some are
    long real words the list lacks: the measure has a floor)."""
    words = known_words()
    return [r for r in _RUN_RE.findall(text) if len(r) >= GLUED_MIN_LETTERS and r.lower() not in words]


def spaceless_tokens(text: str) -> list[str]:
    """The glued tokens that are several words run together: wordninja splits them into three or
    more words of the list, three letters long on average ('whilestillpreserving'; the floor is
    names and identifiers: 'CodeSubmissionPolicy', 'Chandrasekaran')."""
    words = known_words()
    out = []
    for run in glued_tokens(text):
        pieces = _split(run)
        if len(pieces) >= 3 and all(p.lower() in words for p in pieces) and len(run) / len(pieces) >= 3:
            out.append(run)
    return out


__all__ = ["glued_tokens", "known_words", "spaceless_tokens", "split_glued"]
