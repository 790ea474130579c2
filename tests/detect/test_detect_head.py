"""The chunked output head: logits computed per chunk of positions from the last hidden states give
the same statistics as the full logits, and models whose logits are not plainly head(hidden) keep
the full forward pass. A tiny random Llama built on the spot (no download)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from cycleresearcher.detect import criterion  # noqa: E402
from cycleresearcher.detect.criterion import hidden_stats, split_head, token_stats  # noqa: E402


def _tiny(cls=None):
    cfg = transformers.LlamaConfig(
        vocab_size=97,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    torch.manual_seed(0)
    return (cls or transformers.LlamaForCausalLM)(cfg).eval()


class ScaledLogits(transformers.LlamaForCausalLM):
    """Like models that scale their logits after the head (Granite, Cohere)."""

    def forward(self, *args, **kwargs):
        out = super().forward(*args, **kwargs)
        out.logits = out.logits / 4.0
        return out


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_hidden_stats_equal_full_logits(monkeypatch, chunk: int):
    monkeypatch.setattr(criterion, "ROW_CHUNK", chunk)
    model = _tiny()
    x = torch.randint(0, 97, (1, 150), generator=torch.Generator().manual_seed(1))
    body, head = split_head(model, [1, 2, 3, 4, 5])
    with torch.no_grad():
        logits = model(input_ids=x).logits[0, :-1]
        hidden = body(input_ids=x).last_hidden_state[0, :-1]
    full = token_stats(logits, x[0, 1:])
    split = hidden_stats(hidden, head, x[0, 1:])
    assert split.n == full.n == 149
    assert split.criterion == pytest.approx(full.criterion, abs=1e-4)
    # a second model as reference: the two-model formula through the heads as well
    ref = _tiny()
    torch.nn.init.normal_(ref.lm_head.weight, std=0.5)
    rbody, rhead = split_head(ref, [1, 2, 3])
    with torch.no_grad():
        rlogits = ref(input_ids=x).logits[0, :-1]
        rhidden = rbody(input_ids=x).last_hidden_state[0, :-1]
    two = token_stats(logits, x[0, 1:], rlogits)
    assert hidden_stats(hidden, head, x[0, 1:], rhidden, rhead).criterion == pytest.approx(
        two.criterion, abs=1e-4
    )
    assert two.criterion != pytest.approx(full.criterion, abs=1e-3)


def test_models_with_scaled_logits_keep_the_full_forward():
    model = _tiny()
    backbone, head = split_head(model, [1, 2, 3])
    assert backbone is model.get_decoder() and head is model.get_output_embeddings()
    assert split_head(_tiny(ScaledLogits), [1, 2, 3]) is None
