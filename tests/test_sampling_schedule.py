"""Sampling-side schedule options: trailing timesteps and guidance rescale (Lin et al. 2023)."""

from __future__ import annotations

import pytest

from galaxysd_core.diffusion import generate
from galaxysd_core.diffusion.pipelines import build_pipeline, make_scheduler, tiny_components
from galaxysd_core.errors import ConfigError


@pytest.fixture(scope="module")
def sd15_like():
    """A tiny pipeline with SD-1.5's noise schedule (as real SD-1.5 weights have)."""
    return build_pipeline(tiny_components(0))


def test_trailing_spacing_starts_at_the_last_training_step(sd15_like):
    config = sd15_like.scheduler.config
    default = make_scheduler("euler_a", config)
    trailing = make_scheduler("euler_a", config, timestep_spacing="trailing")
    for s in (default, trailing):
        s.set_timesteps(10)
    assert trailing.config.timestep_spacing == "trailing"
    assert int(trailing.timesteps[0]) == 999
    assert list(trailing.timesteps) != list(default.timesteps)
    # The model's own config is not touched.
    assert sd15_like.scheduler.config.timestep_spacing == "linspace"


def test_zero_snr_schedule_ends_in_pure_noise():
    components = tiny_components(0, noise_schedule="zero_snr")
    scheduler = components["scheduler"]
    assert scheduler.config.prediction_type == "v_prediction"
    # diffusers keeps a tiny positive value so Euler's sigma stays finite.
    assert float(scheduler.alphas_cumprod[-1]) < 1e-6


def test_guidance_rescale_changes_pixels_and_is_recorded(sd15_like):
    plain = generate(sd15_like, "sdss, spiral galaxy", n=1, steps=3)
    rescaled = generate(
        sd15_like,
        "sdss, spiral galaxy",
        n=1,
        steps=3,
        guidance_rescale=0.7,
        timestep_spacing="trailing",
    )
    assert rescaled.metadata[0]["guidance_rescale"] == 0.7
    assert rescaled.metadata[0]["timestep_spacing"] == "trailing"
    assert plain.metadata[0]["timestep_spacing"] == "linspace"
    assert plain.images[0].tobytes() != rescaled.images[0].tobytes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"guidance_rescale": 1.5}, "guidance_rescale must be in"),
        ({"guidance_rescale": 0.7, "reference": "x.png"}, "text-only sampling"),
        ({"timestep_spacing": "middle"}, "timestep_spacing must be one of"),
    ],
)
def test_bad_schedule_options_name_the_field(sd15_like, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        generate(sd15_like, "sdss, spiral galaxy", n=1, steps=2, **kwargs)
