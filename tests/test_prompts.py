"""Weighted prompts: the parser (examples + fuzz) and the weighting arithmetic."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from galaxysd_core.prompts import (
    PromptTooLongError,
    encode_weighted,
    format_weighted,
    parse_weighted,
    plain_text,
    token_weights,
)


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("sdss, {dust lane:1.3}", [("sdss, ", 1.0), ("dust lane", 1.3)]),
        ("sdss, smooth", [("sdss, smooth", 1.0)]),
        ("", []),
        ("{dust lane}", [("dust lane", 1.1)]),
        ("(dust lane:0.5) galaxy", [("dust lane", 0.5), (" galaxy", 1.0)]),
        ("{{round}}", [("round", pytest.approx(1.21))]),
        ("{a {b:2}:1.5} c", [("a ", 1.5), ("b", 3.0), (" c", 1.0)]),
        ("{x:0}", [("x", 0.0)]),
        ("{x: 5 }", [("x", 5.0)]),
        (r"ratio \(1\) \{x\}", [("ratio (1) {x}", 1.0)]),
        (
            "sdss, {completely round:1.2} galaxy, {dust lane:1.3}",
            [("sdss, ", 1.0), ("completely round", 1.2), (" galaxy, ", 1.0), ("dust lane", 1.3)],
        ),
    ],
)
def test_parse_examples(text, spans):
    assert parse_weighted(text) == spans


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{dust lane", r"unbalanced '\{' at position 0"),
        ("sdss}", r"unbalanced '\}' at position 4"),
        ("{dust lane)", r"mismatched '\)' at position 10"),
        ("sdss, {}", r"empty group at position 6"),
        ("{:1.3}", r"empty group at position 0"),
        ("{dust lane:heavy}", r"non-numeric weight 'heavy' at position 11"),
        ("{dust lane:-1}", r"weight '-1' at position 11 is outside"),
        ("{dust lane:5.5}", r"weight '5.5' at position 11 is outside"),
        ("{x:nan}", r"outside"),
    ],
)
def test_parse_errors_name_the_position(text, match):
    with pytest.raises(ValueError, match=match):
        parse_weighted(text)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab ,:.-1234567890{}()\\e", max_size=40))
def test_fuzz_only_value_error_escapes(text):
    try:
        spans = parse_weighted(text)
    except ValueError:
        return
    assert all(isinstance(s, str) and s and w >= 0 for s, w in spans)
    # Escapes aside, the spans are the text with the markup removed, in order.
    assert "".join(s for s, _ in spans) == plain_text(text)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="abc ,-", min_size=1, max_size=8),
            st.sampled_from([1.0, 0.5, 1.3, 2.0]),
        ),
        max_size=5,
    )
)
def test_format_round_trips(spans):
    spans = [(s, w) for s, w in spans if s.strip() or w == 1.0]
    back = parse_weighted(format_weighted(spans))
    assert "".join(s for s, _ in back) == "".join(s for s, _ in spans)
    assert {w for _, w in back} <= {w for _, w in spans} | {1.0}


@pytest.fixture(scope="module")
def encoder():
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from galaxysd_core.paths import TOKENIZER

    torch.manual_seed(0)
    config = CLIPTextConfig(
        vocab_size=49408,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=77,
    )
    model = CLIPTextModel(config).eval()
    # A clearly non-zero output mean, as trained encoders have, so the A1111
    # rescale factor is well defined.
    torch.nn.init.constant_(model.final_layer_norm.bias, 0.5)
    return CLIPTokenizer.from_pretrained(TOKENIZER), model


def test_tokenizer_ids_match_sd15(encoder):
    tokenizer, _ = encoder
    ids = tokenizer("sdss, spiral galaxy, dust lane")["input_ids"]
    assert ids == [49406, 3080, 632, 267, 19873, 6545, 267, 8349, 3980, 49407]


def test_token_weights_cover_exactly_the_span(encoder):
    tokenizer, _ = encoder
    ids, weights = token_weights(tokenizer, "sdss, spiral galaxy, {dust lane:1.3}")
    assert ids[:10] == [49406, 3080, 632, 267, 19873, 6545, 267, 8349, 3980, 49407]
    assert weights[:10] == [1.0] * 7 + [1.3, 1.3, 1.0]
    assert len(ids) == len(weights) == 77


def test_a1111_weighting_scales_tokens_then_restores_the_mean(encoder):
    tokenizer, model = encoder
    plain = encode_weighted(tokenizer, model, "sdss, dust lane")
    weighted = encode_weighted(tokenizer, model, "sdss, {dust lane:1.3}")
    _, weights = token_weights(tokenizer, "sdss, {dust lane:1.3}")
    w = torch.tensor(weights)[None, :, None]
    expected = plain * w
    expected = expected * plain.mean() / expected.mean()
    torch.testing.assert_close(weighted, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(weighted.mean(), plain.mean())


def test_a1111_rescale_is_skipped_when_the_mean_is_near_zero(encoder):
    tokenizer, model = encoder
    bias = model.final_layer_norm.bias
    with torch.no_grad():
        saved = bias.clone()
        bias.zero_()
        try:
            plain = encode_weighted(tokenizer, model, "sdss, dust lane")
            weighted = encode_weighted(tokenizer, model, "sdss, {dust lane:1.3}")
        finally:
            bias.copy_(saved)
    assert torch.isfinite(weighted).all()
    _, weights = token_weights(tokenizer, "sdss, {dust lane:1.3}")
    scaled = plain * torch.tensor(weights)[None, :, None]
    ratio = plain.mean() / scaled.mean()
    expected = scaled * ratio if 0.2 < ratio < 5 else scaled
    torch.testing.assert_close(weighted, expected, rtol=1e-4, atol=1e-5)


def test_compel_weighting_interpolates_from_the_empty_prompt(encoder):
    tokenizer, model = encoder
    plain = encode_weighted(tokenizer, model, "sdss, dust lane")
    empty = encode_weighted(tokenizer, model, "")
    half = encode_weighted(tokenizer, model, "sdss, {dust lane:0.5}", mode="compel")
    _, weights = token_weights(tokenizer, "sdss, {dust lane:0.5}")
    w = torch.tensor(weights)[None, :, None]
    torch.testing.assert_close(half, empty + w * (plain - empty), rtol=1e-5, atol=1e-6)


def test_too_long_prompt_is_refused(encoder):
    tokenizer, model = encoder
    with pytest.raises(PromptTooLongError, match="at most 75 fit"):
        encode_weighted(tokenizer, model, ", ".join(["spiral galaxy"] * 40))
    with pytest.raises(ValueError, match="unknown weighting mode"):
        encode_weighted(tokenizer, model, "sdss", mode="bogus")
