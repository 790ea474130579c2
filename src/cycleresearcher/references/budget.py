"""How many tokens a reference block will take, said before any model is loaded.

The exact count comes from the model's tokenizer when a run prepares its prompts
(``research.CycleResearcher.prepare``); this estimate lets ``references render --explain`` and
``research generate`` say early that a bibliography is too big, and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: characters per token of BibTeX text; Mistral / Qwen tokenizers give 3.2 to 3.6 on reference
#: blocks, so 3.0 errs on the side of "too big"
CHARS_PER_TOKEN = 3.0
#: the system prompt and the fixed instruction around the block (FORMATS.md section 1)
PROMPT_OVERHEAD_TOKENS = 400


def estimate_tokens(block: str) -> int:
    """Estimated prompt tokens of a rendered references block, instruction included."""
    return int(len(block) / CHARS_PER_TOKEN + 0.999) + PROMPT_OVERHEAD_TOKENS


@dataclass
class BudgetCheck:
    tokens: int  # estimated prompt tokens
    budget: int  # tokens the context leaves to the prompt
    context: int
    max_new: int

    @property
    def fits(self) -> bool:
        return self.tokens <= self.budget

    def line(self, label: str, *, dropping: bool = False) -> str:
        """One line: the count against the budget and, when over, the way out (``dropping``:
        --drop-to-fit is already given)."""
        head = (
            f"{label}: about {self.tokens:,} prompt tokens; the budget is {self.budget:,} "
            f"({self.context:,} context - {self.max_new:,} new tokens)"
        )
        if self.fits:
            return head + "."
        if dropping:
            return (
                head
                + f": {self.tokens - self.budget:,} too many; --drop-to-fit keeps the most relevant references that fit."
            )
        return (
            head + f": {self.tokens - self.budget:,} too many. Add --drop-to-fit to keep the most relevant "
            "references that fit, or give fewer references."
        )


def check_budget(block: str, context: int, max_new: int) -> BudgetCheck:
    return BudgetCheck(estimate_tokens(block), context - max_new, context, max_new)
