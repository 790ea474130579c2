"""One sequence's output in the llama.cpp engine: tokens in, text out, until it is done.

Shared by the one-at-a-time path (``Llama.generate``) and the batched one (``llamacpp_batch``) so
that both end a sequence the same way: end-of-generation tokens, ``ignore_eos``, stop strings and
the token budget.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass

from .base import Completion, SamplingParams


@dataclass
class SampleStats:
    """Timing of one sample: ``prompt_eval`` tokens were evaluated before the first new token.

    In a batched run the sequences share each decode step, so ``decode_s`` of several samples
    overlap; ``LlamaCppEngine.steps`` has the wall time of every step."""

    prompt_tokens: int
    prompt_eval_tokens: int
    prefill_s: float
    decode_s: float
    completion_tokens: int


class SequenceText:
    """Feed sampled tokens with ``feed``; it says when the sequence is done and builds the text."""

    def __init__(
        self, sp: SamplingParams, max_new: int, eog_ids: set[int], detokenize: Callable[[int], bytes]
    ):
        self.sp = sp
        self.max_new = max_new
        self.eog_ids = eog_ids
        self.detokenize = detokenize
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.max_stop = max((len(s) for s in sp.stop), default=0)
        self.text = ""
        self.finish = "length"
        self.cut_by_stop = False
        self.count = 0

    def feed(self, token: int) -> bool:
        """Take one sampled token (already counted in progress); True when the sequence ends."""
        sp = self.sp
        self.count += 1
        if token in self.eog_ids:
            # a finished grammar allows nothing but EOS: ignoring it would sample from an empty
            # grammar stack, which aborts llama.cpp
            if not sp.ignore_eos or sp.grammar:
                self.finish = "stop"
                return True
            piece = ""  # skipped like vLLM's skip_special_tokens
        else:
            piece = self.decoder.decode(self.detokenize(token))
        if piece:
            self.text += piece
            if self.max_stop:
                # only the tail can hold a stop string that was not there before
                tail_from = max(0, len(self.text) - len(piece) - self.max_stop + 1)
                hits = [i for i in (self.text.find(s, tail_from) for s in sp.stop if s) if i >= 0]
                if hits:
                    self.text, self.finish, self.cut_by_stop = self.text[: min(hits)], "stop", True
                    return True
        return self.count >= self.max_new

    def completion(self) -> Completion:
        if not self.cut_by_stop:
            self.text += self.decoder.decode(b"", final=True)
            self.cut_by_stop = True  # flushed once
        return Completion(text=self.text, finish_reason=self.finish, completion_tokens=self.count)
