"""Composable guidance: prompts joined by AND guide one image together (Liu et al. 2022)."""

from __future__ import annotations

import numpy as np
import pytest

from galaxysd_core.diffusion import generate
from galaxysd_core.diffusion.pipelines import build_pipeline, tiny_components
from galaxysd_core.errors import ConfigError
from galaxysd_core.prompts import PromptError, split_composed


@pytest.fixture(scope="module")
def tiny():
    return build_pipeline(tiny_components(0, noise_schedule="zero_snr"))


def _pixels(result):
    return np.stack([np.asarray(i, dtype=np.int16) for i in result.images])


def test_split_composed_reads_terms_and_weights():
    assert split_composed("sdss, completely round galaxy AND sdss, dust lane :0.6") == [
        ("sdss, completely round galaxy", 1.0),
        ("sdss, dust lane", 0.6),
    ]
    assert split_composed("a AND b:-1 AND c :.5") == [("a", 1.0), ("b", -1.0), ("c", 0.5)]
    # Without AND a prompt is untouched: a trailing ":2" stays text.
    assert split_composed("sdss, {dust lane:1.3}:2") == [("sdss, {dust lane:1.3}:2", 1.0)]
    # "and" in lower case is ordinary text.
    assert split_composed("round and smooth") == [("round and smooth", 1.0)]


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        (" AND sdss, dust lane", "term 0 .* is empty"),
        ("sdss AND dust lane :7", "weight 7 of term 1"),
        ("sdss AND {dust lane", "unbalanced"),
    ],
)
def test_bad_composed_prompts_name_the_term(prompt, message):
    with pytest.raises(PromptError, match=message):
        split_composed(prompt)


@pytest.mark.parametrize("scheduler", ["euler_a", "dpmpp_2m"])
def test_a_zero_weight_term_gives_the_pipelines_own_pixels(tiny, scheduler):
    """The composed loop reproduces diffusers' guidance when the extra term weighs 0."""
    kwargs = {"n": 3, "seed": 5, "steps": 4, "guidance": 7.0, "scheduler": scheduler}
    plain = generate(tiny, "sdss, spiral galaxy", batch_size=2, **kwargs)
    composed = generate(tiny, "sdss, spiral galaxy AND sdss, dust lane :0", batch_size=2, **kwargs)
    assert np.abs(_pixels(plain) - _pixels(composed)).max() <= 1
    assert composed.metadata[0]["terms"] == [["sdss, spiral galaxy", 1.0], ["sdss, dust lane", 0.0]]


def test_a_second_term_changes_the_image_and_its_sign_matters(tiny):
    kwargs = {"n": 2, "seed": 0, "steps": 4}
    plain = _pixels(generate(tiny, "sdss, spiral galaxy", **kwargs))
    toward = _pixels(generate(tiny, "sdss, spiral galaxy AND sdss, dust lane :1", **kwargs))
    away = _pixels(generate(tiny, "sdss, spiral galaxy AND sdss, dust lane :-1", **kwargs))
    assert np.abs(toward - plain).mean() > 0.5
    assert np.abs(away - toward).mean() > 0.5


def test_composed_and_plain_prompts_sample_together(tiny):
    """Image i of a prompt is the same whether it is sampled alone or beside others."""
    alone = generate(tiny, "sdss, smooth AND sdss, dust lane :0.6", n=2, steps=3)
    mixed = generate(
        tiny, ["sdss, spiral galaxy", "sdss, smooth AND sdss, dust lane :0.6"], n=2, steps=3
    )
    assert np.abs(_pixels(alone) - _pixels(mixed)[2:]).max() <= 1


def test_composed_prompts_from_a_reference_match_the_image_to_image_pipeline(tiny, tmp_path):
    """With a zero-weight extra term the own loop's img2img start is diffusers' own."""
    from PIL import Image

    rng = np.random.default_rng(0)
    reference = tmp_path / "real.png"
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(reference)
    kwargs = {"n": 3, "seed": 4, "steps": 5, "reference": reference, "strength": 0.6}
    plain = generate(tiny, "sdss, spiral galaxy", batch_size=2, **kwargs)
    composed = generate(tiny, "sdss, spiral galaxy AND sdss, dust lane :0", batch_size=2, **kwargs)
    assert np.abs(_pixels(plain) - _pixels(composed)).max() <= 1
    toward = generate(tiny, "sdss, spiral galaxy AND sdss, dust lane :1", **kwargs)
    assert np.abs(_pixels(toward) - _pixels(plain)).mean() > 0.5
    assert composed.metadata[0]["reference"] == str(reference)


def test_compose_check_counts_each_term_against_the_window():
    from transformers import CLIPTokenizer

    from galaxysd_core.diffusion import compose
    from galaxysd_core.paths import DEMO_MODEL

    tokenizer = CLIPTokenizer.from_pretrained(DEMO_MODEL / "tokenizer")
    half = ", ".join(["spiral galaxy"] * 12)  # about 36 tokens
    # Two terms that would not fit the window together are each encoded alone.
    used = compose.check_prompt(tokenizer, f"{half} AND {half} AND {half} :0.5")
    assert 24 <= used <= compose.MAX_TOKENS
    with pytest.raises(ConfigError, match=r"term 1 .* is empty"):
        compose.check_prompt(tokenizer, "sdss, dust lane AND  :1.2")
    with pytest.raises(ConfigError, match=r"prompt term .* has \d+ tokens; at most 75"):
        compose.check_prompt(tokenizer, f"sdss AND {half}, {half}, {half}")


def _identity_self_attention(attn, hidden_states, encoder_hidden_states=None, **_):
    """Self-attention with the identity as its map: each position keeps its own value."""
    return attn.to_out[1](attn.to_out[0](attn.to_v(hidden_states)))


def test_perturbed_self_attention_perturbs_the_second_half_only_and_restores(tiny):
    import torch

    from galaxysd_core.diffusion.composable import perturbed_self_attention

    unet = tiny.unet
    side = unet.config.sample_size
    x = torch.randn(2, unet.config.in_channels, side, side, generator=torch.manual_seed(0))
    text = torch.randn(2, 77, unet.config.cross_attention_dim, generator=torch.manual_seed(1))
    t = torch.tensor(500)
    before = {k: type(v) for k, v in unet.attn_processors.items()}
    with torch.no_grad():
        plain = unet(x, t, encoder_hidden_states=text).sample
        with perturbed_self_attention(unet):
            both = unet(torch.cat([x, x]), t, encoder_hidden_states=torch.cat([text, text])).sample
        saved = dict(unet.attn_processors)
        unet.set_attn_processor(
            {k: _identity_self_attention if k.endswith("attn1.processor") else v
             for k, v in saved.items()}
        )  # fmt: skip
        by_hand = unet(x, t, encoder_hidden_states=text).sample
        unet.set_attn_processor(saved)
    torch.testing.assert_close(both[:2], plain, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(both[2:], by_hand, atol=1e-5, rtol=1e-4)
    assert (both[2:] - plain).abs().max() > 1e-3  # the perturbation does something
    assert {k: type(v) for k, v in unet.attn_processors.items()} == before
    with pytest.raises(RuntimeError), perturbed_self_attention(unet):
        raise RuntimeError("a step failed")
    assert {k: type(v) for k, v in unet.attn_processors.items()} == before


def test_pag_acts_on_its_steps_only_and_is_recorded(tiny, tmp_path):
    interval = {"guidance_interval": (0, 1000), "steps": 6, "n": 2, "seed": 3}
    off = _pixels(generate(tiny, "sdss, spiral galaxy", **interval))
    # No step of the six (999, 799, ..., 0) lies in (950, 990): nothing changes.
    none = generate(tiny, "sdss, spiral galaxy", pag_scale=1.0, pag_interval=(950, 990), **interval)
    np.testing.assert_array_equal(_pixels(none), off)
    on = generate(
        tiny,
        "sdss, spiral galaxy",
        pag_scale=1.0,
        pag_interval=(400, 1000),
        out=tmp_path,
        **interval,
    )
    assert np.abs(_pixels(on) - off).max() > 0
    again = generate(
        tiny, "sdss, spiral galaxy", pag_scale=1.0, pag_interval=(400, 1000), **interval
    )
    np.testing.assert_array_equal(_pixels(again), _pixels(on))  # same seed, same pixels
    assert on.metadata[0]["pag_scale"] == 1.0 and on.metadata[0]["pag_interval"] == [400.0, 1000.0]
    # It runs with composed prompts too, and not with guidance rescale.
    generate(tiny, "sdss, smooth AND sdss, dust lane :0.5", pag_scale=0.5, n=1, steps=3)
    with pytest.raises(ConfigError, match="pag_scale works without guidance_rescale"):
        generate(tiny, "sdss", pag_scale=1.0, guidance_rescale=0.7, n=1, steps=3)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pag_scale", -1.0, "pag_scale must be a number in [0, 10], got -1.0"),
        ("pag_scale", True, "pag_scale must be a number in [0, 10], got True"),
        ("pag_interval", (500.0,), "pag_interval must be two timesteps LOW HIGH, got (500.0,)"),
        ("pag_interval", (700.0, 400.0), "pag_interval must have 0 <= LOW < HIGH <= 1000"),
    ],
)
def test_bad_pag_settings_are_refused_by_name(tiny, tmp_path, field, value, message):
    import re

    from galaxysd_core.diffusion.config import GenerateConfig
    from galaxysd_core.metrics.config import EvaluateConfig

    with pytest.raises(ConfigError, match=re.escape(message)):
        generate(tiny, "sdss", n=1, steps=3, **{field: value})
    with pytest.raises(ConfigError, match=re.escape(message)):
        GenerateConfig(model=tmp_path, prompt="sdss", out=tmp_path, **{field: value}).validate()
    with pytest.raises(ConfigError, match=re.escape(message)):
        EvaluateConfig(run=tmp_path, **{field: value}).validate()


def test_pag_on_a_unet_without_self_attention_is_refused():
    from diffusers import UNet2DConditionModel

    from galaxysd_core.diffusion.composable import perturbed_self_attention

    unet = UNet2DConditionModel(
        sample_size=8,
        block_out_channels=(8,),
        down_block_types=("DownBlock2D",),
        up_block_types=("UpBlock2D",),
        mid_block_type=None,
        layers_per_block=1,
        cross_attention_dim=8,
        norm_num_groups=4,
    )
    with (
        pytest.raises(ConfigError, match="pag_scale needs self-attention layers"),
        perturbed_self_attention(unet),
    ):
        pass
