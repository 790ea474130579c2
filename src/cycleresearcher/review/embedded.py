"""Review budgets of the embedded CPU stand-in (SmolLM2-135M), sized so one review takes minutes.

Upstream limits (7,000 / 35,000 new tokens, 50,000 / 90,000 context) are for the released models
on a GPU. On a CPU the stand-in decodes about 80 tok/s on an idle 2-core machine and about 20 under
load (grammar-constrained decoding is ~0.6x of that): a CycleReviewer review at upstream's budget
(4,096 new tokens after the context fit) took 30 minutes on a busy CPU. Measured again on a
2-core Xeon at load ~9: the constrained review of a 1,232-token paper wrote 2,592 tokens at
5.7 tok/s after a 43 s prefill (8.3 min). These caps apply only when
the reviewer runs the embedded model and the user set no ``max_tokens`` / ``context_length``;
released and user-given models keep upstream's limits.
"""

from __future__ import annotations

from ..progress import format_duration
from .context import SAFETY_MARGIN

#: new tokens per review request: the whole grammar-constrained CycleReviewer structure at the
#: embedded bounds (4 reviewers, meta review, decision) took 2,592 tokens here, and the budget
#: fitting (prompts.grammars.capacity) keeps its 40 words a paragraph only from 3,559 tokens on
EMBEDDED_REVIEW_MAX_TOKENS = 3584
#: the prompt (system + paper) is cut to this many tokens; not less than the new tokens, since the
#: context fit gives the generation at most half of the context (``review.context`` rule 1)
EMBEDDED_REVIEW_INPUT_TOKENS = 3584
#: decode rates measured here (tok/s): loaded and idle 2-core CPU
EMBEDDED_TOK_S_LOADED = 20.0
EMBEDDED_TOK_S_IDLE = 80.0


def embedded_context(max_tokens: int, input_tokens: int = EMBEDDED_REVIEW_INPUT_TOKENS) -> int:
    """The context the fitting sees, so the prompt keeps at most ``input_tokens``."""
    return input_tokens + max_tokens + SAFETY_MARGIN


def budget_note(max_tokens: int, input_tokens: int, requests: int = 1) -> str:
    """``embedded stand-in: up to N new tokens, input cut to M tokens, about X at Y tok/s``."""
    slow = requests * max_tokens / EMBEDDED_TOK_S_LOADED
    fast = requests * max_tokens / EMBEDDED_TOK_S_IDLE
    per = f" per request, {requests} requests" if requests > 1 else ""
    return (
        f"embedded stand-in: up to {max_tokens} new tokens{per}, input cut to {input_tokens} tokens, "
        f"about {format_duration(fast)} at {EMBEDDED_TOK_S_IDLE:.0f} tok/s (idle CPU) to "
        f"{format_duration(slow)} at {EMBEDDED_TOK_S_LOADED:.0f} tok/s (busy CPU) at most"
    )
