"""Preference examples, their tokenization (the same rule TRL applies), and the policy's
chosen-minus-rejected log-probability margin measured with a plain forward pass.

Tokenization mirrors TRL's conversational preference path: the prompt is the chat template with
the generation prompt, the completion is what the template adds for the assistant turn, a BOS is
prepended when the tokenizer has one and the text lacks it, an EOS is appended. Long pairs: the
prompt is kept whole and each completion keeps its head so that prompt + completion fits
``max_length`` (TRL's rule; counted as "truncated"); a pair whose prompt leaves fewer than
``min_completion_tokens`` is dropped (counted as "dropped"), since nothing of its papers would be
trained.

The margin is the mean over pairs of avg-log-prob(chosen) - avg-log-prob(rejected), per token: the
length-normalised quantity SimPO optimises (without beta).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import takewhile
from typing import Any

from ..engines.base import Message


@dataclass
class PreferenceExample:
    """One training pair in TRL's conversational preference format."""

    set_id: str
    prompt: list[Message]
    chosen: str
    rejected: str

    def to_trl(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "chosen": [{"role": "assistant", "content": self.chosen}],
            "rejected": [{"role": "assistant", "content": self.rejected}],
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Encoded:
    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]
    truncated: bool


@dataclass
class Prepared:
    """The pairs that will be trained, and what happened to the others."""

    kept: list[PreferenceExample] = field(default_factory=list)
    encoded: list[Encoded] = field(default_factory=list)
    truncated: int = 0
    dropped: list[str] = field(default_factory=list)  # set ids whose prompt alone fills max_length


def _template(tokenizer: Any, messages: list[Message], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def _answer_ids(tokenizer: Any, prompt: str, answer: str) -> tuple[list[int], list[int]]:
    full = tokenizer(prompt + answer, add_special_tokens=False)["input_ids"]
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    start = len(p)
    if p != full[:start]:  # the last prompt token merged with the answer
        start -= 1
    return full[:start], full[start:]


def encode_example(
    tokenizer: Any, ex: PreferenceExample, max_length: int, min_completion_tokens: int
) -> Encoded | None:
    """Token ids of one pair after TRL's truncation rule; None when the pair must be dropped."""
    prompt_text = _template(tokenizer, ex.prompt, True)
    chosen_full = _template(tokenizer, ex.prompt + [{"role": "assistant", "content": ex.chosen}], False)
    rejected_full = _template(tokenizer, ex.prompt + [{"role": "assistant", "content": ex.rejected}], False)
    prompt_text = "".join(
        a for a, _ in takewhile(lambda x: x[0] == x[1], zip(prompt_text, chosen_full, strict=False))
    )
    prompt_text = "".join(
        a for a, _ in takewhile(lambda x: x[0] == x[1], zip(prompt_text, rejected_full, strict=False))
    )
    p1, chosen = _answer_ids(tokenizer, prompt_text, chosen_full[len(prompt_text) :])
    p2, rejected = _answer_ids(tokenizer, prompt_text, rejected_full[len(prompt_text) :])
    prompt = p1 if len(p1) <= len(p2) else p2
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    if bos is not None and (not prompt or prompt[0] != bos):
        prompt = [bos, *prompt]
    if eos is not None:
        chosen = chosen if chosen and chosen[-1] == eos else [*chosen, eos]
        rejected = rejected if rejected and rejected[-1] == eos else [*rejected, eos]
    room = max_length - len(prompt)
    if room < min_completion_tokens:
        return None
    truncated = len(chosen) > room or len(rejected) > room
    return Encoded(prompt, chosen[:room], rejected[:room], truncated)


def prepare(
    tokenizer: Any, examples: list[PreferenceExample], max_length: int, min_completion_tokens: int
) -> Prepared:
    out = Prepared()
    for ex in examples:
        enc = encode_example(tokenizer, ex, max_length, min_completion_tokens)
        if enc is None:
            out.dropped.append(ex.set_id)
            continue
        out.kept.append(ex)
        out.encoded.append(enc)
        out.truncated += int(enc.truncated)
    return out


def logprob_margins(model_dir: str, encoded: list[Encoded], device: str = "auto") -> list[float]:
    """Per pair: avg log-prob of the chosen completion minus that of the rejected one, under the
    model in ``model_dir`` (one sequence at a time: no padding effects, bounded memory)."""
    if not encoded:
        return []
    from ..hfmodels import load_causal_lm, mean_logprob, resolve_device

    dev = resolve_device(device)
    model, _ = load_causal_lm(model_dir, device=dev, dtype="float32" if dev == "cpu" else "auto")
    try:
        return [
            mean_logprob(model, e.prompt_ids, e.chosen_ids, dev)
            - mean_logprob(model, e.prompt_ids, e.rejected_ids, dev)
            for e in encoded
        ]
    finally:
        del model
