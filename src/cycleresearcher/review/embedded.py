"""Review budgets of the embedded CPU stand-in (SmolLM2-135M), sized so one review takes minutes.

The numbers are the one embedded profile's (``models.embedded``, which says why each is what it
is). They apply only when the reviewer runs the embedded model and the user set no
``max_tokens`` / ``context_length``; released and user-given models keep upstream's limits.
"""

from __future__ import annotations

from ..models.embedded import EMBEDDED
from ..progress import format_duration
from .context import SAFETY_MARGIN

#: the embedded profile's review budgets (``models.embedded`` says why): new tokens per review
#: request, the prompt (system + paper) cut, and the decode rates of a loaded and an idle CPU
EMBEDDED_REVIEW_MAX_TOKENS = EMBEDDED.review_max_tokens
EMBEDDED_REVIEW_INPUT_TOKENS = EMBEDDED.review_input_tokens
EMBEDDED_TOK_S_LOADED = EMBEDDED.tok_s_loaded
EMBEDDED_TOK_S_IDLE = EMBEDDED.tok_s_idle


def embedded_context(max_tokens: int, input_tokens: int = EMBEDDED_REVIEW_INPUT_TOKENS) -> int:
    """The context the fitting sees, so the prompt keeps at most ``input_tokens``."""
    return input_tokens + max_tokens + SAFETY_MARGIN


def budget_note(max_tokens: int, input_tokens: int, requests: int = 1, papers: int = 1) -> str:
    """``embedded stand-in: up to N new tokens, input cut to M tokens; writing P review(s) takes about
    X at Y tok/s ...``: the writing of every paper's reviews at the profile's decode rates. Reading
    each paper's input comes on top (not estimated: it depends on the input), so it is no bound."""
    total = papers * requests * max_tokens
    slow = total / EMBEDDED_TOK_S_LOADED
    fast = total / EMBEDDED_TOK_S_IDLE
    per = f" per request, {requests} requests a paper" if requests > 1 else ""
    return (
        f"embedded stand-in: up to {max_tokens} new tokens{per}, input cut to {input_tokens} tokens; writing "
        f"the review{'s' if papers > 1 else ''} of {papers} paper(s) takes about {format_duration(fast)} at "
        f"{EMBEDDED_TOK_S_IDLE:.0f} tok/s (idle CPU) to {format_duration(slow)} at {EMBEDDED_TOK_S_LOADED:.0f} "
        "tok/s (busy CPU), after reading each paper's input"
    )
