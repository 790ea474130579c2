"""The embedded CPU stand-in's profile (SmolLM2-135M): every budget and default it runs with, in
one place. The research, review and grammar modules read it from here (their ``EMBEDDED_*`` names
are aliases kept for callers); released and user-given models keep upstream's limits.

Why each number is what it is:

* papers: the stand-in cannot write a paper, so an unconstrained run stays short (1,024 new
  tokens); with the grammar on, 2,816 leaves room for the whole bounded structure (its longest
  one-shot paper at the embedded bounds is estimated at 2,807 tokens: fixed text at 1.5
  characters a token, 4 tokens a word), so the grammar fitting keeps those bounds as they are;
* reviews: upstream's 7,000 / 35,000 new tokens and 50,000 / 90,000 context are for a GPU. On a
  CPU the stand-in decodes about 80 tok/s idle and 20 under load (constrained ~0.6x of that): a
  review at upstream's budget took 30 minutes. The whole constrained CycleReviewer structure at
  the embedded bounds (4 reviewers, meta review, decision) took 2,592 tokens (8.3 min at 5.7
  tok/s on a loaded 2-core Xeon), and the fitting keeps its 40 words a paragraph from 3,559
  tokens on: 3,584 new tokens, and the prompt cut to as many (the context fit gives the
  generation at most half of the context);
* repetition: a penalty of 1.1 over the last 512 tokens, chosen by the repeated-4-gram rate of
  its papers' free text (benchmarks/repetition.py): a 64-token window lets whole sentences
  come back a section later;
* grammar bounds: short paragraphs and few experiments, so a small model cannot loop inside a
  slot; 4 tokens a word is above the rates seen in its constrained output (the budget fitting
  then never undershoots).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EmbeddedProfile:
    #: new tokens of a paper, unconstrained / with the grammar on
    paper_max_tokens: int = 1024
    paper_constrained_max_tokens: int = 2816
    #: the context llama.cpp gives it (its GGUF's trained context): a paper prompt gets this
    #: minus the paper's new tokens (``references render --explain`` says so before a run)
    context: int = 8192
    #: new tokens per review request, and the prompt (system + paper) cut
    review_max_tokens: int = 3584
    review_input_tokens: int = 3584
    #: the anti-loop sampling default
    repeat_penalty: float = 1.1
    repeat_window: int = 512
    #: free-text sizes of the bounded grammar (``prompts.grammars.Bounds`` fields)
    bounds: dict[str, int] = field(  # a dict: this module imports nothing from prompts/
        default_factory=lambda: {
            "words": 40,
            "min_words": 8,
            "paragraphs": 1,
            "title_words": 12,
            "experiments": 2,
            "word_chars": 12,
        }
    )
    #: tokens a word of free text takes at most, for the grammar's budget fitting
    tokens_per_word: float = 4.0
    #: decode rates (tok/s) on a loaded and an idle 2-core CPU, for the time a review may take
    tok_s_loaded: float = 20.0
    tok_s_idle: float = 80.0

    def paper_tokens(self, constrained: bool) -> int:
        return self.paper_constrained_max_tokens if constrained else self.paper_max_tokens



#: the one profile
EMBEDDED = EmbeddedProfile()

__all__ = ["EMBEDDED", "EmbeddedProfile"]
