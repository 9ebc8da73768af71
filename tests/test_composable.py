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
