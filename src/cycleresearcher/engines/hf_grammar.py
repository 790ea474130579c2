"""Grammar-constrained decoding for the transformers engine through llguidance.

llguidance (the grammar engine behind llama.cpp's ``LLAMA_LLGUIDANCE`` build and one of vLLM's and
SGLang's structured-output backends) reads our GBNF (converted to its Lark dialect), and computes
the allowed-token mask of one sequence per step from the tokenizer's vocabulary. A
``LogitsProcessor`` keeps one matcher per sequence of the batch (``num_return_sequences`` included),
feeds it the token sampled last and masks every other token. transformers runs custom processors
after its own top-p warper, so the engine leaves top-p to this one: the nucleus is taken from the
masked distribution (a nucleus taken first may hold no allowed token at all). A sequence whose grammar is complete
may only end; with ``ignore_eos`` its end tokens are dropped on decoding like any other EOS.
The tensor work (bitmask to logits, top-p) is ``hfmodels.grammar_mask``: no torch import here.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import EngineError

INSTALL_HINT = "pip install 'cycleresearcher[hf]' (llguidance), or pass --no-constrain"


def _llguidance() -> Any:
    try:
        import llguidance
        import llguidance.hf
        import llguidance.numpy
    except ImportError as exc:
        raise EngineError(
            f"Grammar-constrained decoding (--constrain) on the hf engine needs llguidance: {INSTALL_HINT}."
        ) from exc
    return llguidance


def _lark_safe(gbnf: str) -> str:
    """llguidance's GBNF reader knows the escapes ``\\"[]nrtxuU`` but not ``\\-`` / ``\\^`` (which
    llama.cpp reads in classes, and our grammars write): spell those two as ``\\x2D`` / ``\\x5E``.
    Escapes are taken pairwise, so an escaped backslash before a ``-`` stays as it is."""
    return re.sub(r"\\(.)", lambda m: {"-": r"\x2D", "^": r"\x5E"}.get(m[1], m[0]), gbnf, flags=re.S)


class GrammarLogitsProcessor:
    """Masks the logits of each sequence to the tokens its grammar allows next."""

    def __init__(
        self, tokenizer: Any, grammar: str, rows: int, n_vocab: int, eos_ids: set[int], top_p: float = 1.0
    ):
        llg = _llguidance()
        lark = llg.grammar_from("gbnf", _lark_safe(grammar))
        self.tok = llg.hf.from_tokenizer(tokenizer, n_vocab=n_vocab, eos_token=sorted(eos_ids))
        self.matchers = [llg.LLMatcher(self.tok, lark, log_level=0) for _ in range(rows)]
        if self.matchers and self.matchers[0].is_error():
            raise EngineError(f"llguidance rejected the grammar: {self.matchers[0].get_error()}")
        self.fill = llg.numpy.fill_next_token_bitmask
        self.bitmask = llg.numpy.allocate_token_bitmask(rows, n_vocab)
        self.eos = min(eos_ids)
        self.prompt_len: int | None = None
        self.top_p = top_p

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        from ..hfmodels import grammar_mask

        if self.prompt_len is None:
            self.prompt_len = input_ids.shape[1]
        elif input_ids.shape[1] > self.prompt_len:
            for m, t in zip(self.matchers, input_ids[:, -1].tolist(), strict=True):
                if not m.is_stopped() and not m.is_error():
                    m.consume_token(int(t))
        for i, m in enumerate(self.matchers):
            if m.is_stopped() or m.is_error():
                self.bitmask[i] = 0  # only the end token (in grammar_mask): the sequence is finished
            else:
                self.fill(m, self.bitmask, i)
        finished = [m.is_stopped() or m.is_error() for m in self.matchers]
        return grammar_mask(scores, self.bitmask, finished, self.eos, self.top_p)

    @property
    def errors(self) -> list[str]:
        return [m.get_error() for m in self.matchers if m.is_error()]

