"""Runtimes that turn token windows into criterion statistics.

``HFScorer``: any transformers causal LM (fp32 on CPU, bf16/fp16 on GPU); one forward pass when
the reference model is the scoring model, two otherwise (the tokenizers must agree). Where the
model's logits are plainly ``head(last hidden state)`` (checked on a probe at load), the head runs
per chunk of positions together with the statistics instead of over the whole window.
``LlamaCppScorer``: a GGUF model through llama.cpp with all logits kept (opt-in with
``runtime="llama.cpp"``; see ``make_scorer`` for why it is not the default). The tensor code is in
``criterion`` and the llama.cpp model loads through ``engines.llamacpp``: this module imports
neither torch nor llama_cpp.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..errors import InputError
from .criterion import Stats, array_stats, model_stats, split_head
from .windows import Window


class Scorer(Protocol):
    name: str
    runtime: str
    context_length: int

    def tokenize(self, text: str) -> list[int]: ...

    def window_stats(self, ids: list[int], window: Window) -> Stats: ...


def _rows(window: Window) -> tuple[slice, slice]:
    """(logit rows, label positions) of the tokens this window scores, relative to window.start."""
    a = window.score_from - window.start
    b = window.end - window.start
    return slice(a - 1, b - 1), slice(a, b)


class HFScorer:
    runtime = "transformers"

    def __init__(
        self,
        scoring_model: str,
        reference_model: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
    ):
        from ..hfmodels import load_causal_lm

        self.name = scoring_model
        self.model, self.tokenizer = load_causal_lm(scoring_model, device=device, dtype=dtype)
        self.ref_model = None
        if reference_model and reference_model != scoring_model:
            self.ref_model, ref_tok = load_causal_lm(reference_model, device=device, dtype=dtype)
            if ref_tok.get_vocab() != self.tokenizer.get_vocab():
                raise InputError(
                    f"The reference model {reference_model} uses a different vocabulary from the scoring model "
                    f"{scoring_model}. Pick two models of one family (same tokenizer)."
                )
        self.device = next(self.model.parameters()).device
        self.context_length = int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048)
        probe = self.tokenize("Fast-DetectGPT scores every token of a paper once.")
        self.split = split_head(self.model, probe)
        self.ref_split = split_head(self.ref_model, probe) if self.ref_model is not None else None
        if self.ref_model is not None and self.ref_split is None:
            self.split = None  # both models must take the same path

    def tokenize(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def window_stats(self, ids: list[int], window: Window) -> Stats:
        rows, cols = _rows(window)
        seq = ids[window.start : window.end]
        return model_stats(seq, rows, cols, self.device, self.model, self.split, self.ref_model, self.ref_split)


class LlamaCppScorer:
    runtime = "llama.cpp"

    def __init__(self, gguf: str, window: int, threads: int | None = None):
        from ..engines.llamacpp import load_scoring_model

        self.name = gguf
        self.llm = load_scoring_model(gguf, window, threads)
        self.context_length = int(self.llm._model.n_ctx_train())

    def tokenize(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    def window_stats(self, ids: list[int], window: Window) -> Stats:
        seq = ids[window.start : window.end]
        self.llm.reset()
        self.llm.eval(seq)
        rows, cols = _rows(window)
        return array_stats(self.llm.scores[: len(seq)][rows], seq, cols)


def llama_cpp_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def make_scorer(
    scoring_model: str, reference_model: str | None, device: str, dtype: str, runtime: str, window: int
) -> Any:
    """Pick the runtime. ``auto`` is transformers: llama.cpp computes quantized matmuls (8-bit
    activations), and on the embedded model its criterion differed from a transformers forward
    pass by ~0.07 on 1,000 tokens, beyond the 0.02 we accept; it stays available on request."""
    is_gguf = scoring_model.lower().endswith(".gguf")
    same = not reference_model or reference_model == scoring_model
    if runtime == "auto":
        runtime = "transformers"
    if runtime in ("llama.cpp", "llamacpp"):
        if not is_gguf or not same:
            raise InputError(
                "The llama.cpp runtime needs one .gguf model as both scoring and reference model. Use --runtime transformers."
            )
        return LlamaCppScorer(scoring_model, window)
    if runtime in ("transformers", "hf"):
        return HFScorer(scoring_model, reference_model, device=device, dtype=dtype)
    raise InputError(f"Unknown runtime {runtime!r}: use auto, transformers or llama.cpp.")
