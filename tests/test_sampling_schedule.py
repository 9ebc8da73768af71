"""Sampling-side options: trailing timesteps, guidance rescale (Lin et al. 2023), a guidance
interval (Kynkäänniemi et al. 2024), epsilon scaling (Ning et al. 2024) and autoguidance
(Karras et al. 2024)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

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


@pytest.fixture(scope="module")
def zero_snr():
    """A tiny pipeline with the demo model's schedule (zero terminal SNR, trailing)."""
    return build_pipeline(tiny_components(0, noise_schedule="zero_snr"))


def _pixels(result):
    return np.stack([np.asarray(i, dtype=np.int16) for i in result.images])


@contextlib.contextmanager
def _unet_rows(pipeline):
    """Collect the batch size of every UNet call made inside the block."""
    rows: list[int] = []
    hook = pipeline.unet.register_forward_pre_hook(lambda _m, args: rows.append(len(args[0])))
    try:
        yield rows
    finally:
        hook.remove()


def test_an_interval_holding_every_step_gives_the_pipelines_pixels(zero_snr):
    kwargs = {"n": 3, "seed": 2, "steps": 4, "guidance": 7.0, "batch_size": 2}
    plain = generate(zero_snr, "sdss, spiral galaxy", **kwargs)
    full = generate(zero_snr, "sdss, spiral galaxy", guidance_interval=(0, 1000), **kwargs)
    assert np.abs(_pixels(plain) - _pixels(full)).max() <= 1
    assert full.metadata[0]["guidance_interval"] == [0.0, 1000.0]
    assert plain.metadata[0]["guidance_interval"] is None


def test_steps_outside_the_interval_are_unguided_and_cost_one_unet_row(zero_snr):
    """Trailing 4-step timesteps are 999, 749, 499, 249: (0, 600) guides the last two."""
    with _unet_rows(zero_snr) as rows:
        limited = generate(
            zero_snr, "sdss, spiral galaxy", n=2, steps=4, guidance_interval=(0, 600)
        )
    assert rows == [2, 2, 4, 4]
    guided = generate(zero_snr, "sdss, spiral galaxy", n=2, steps=4)
    assert np.abs(_pixels(limited) - _pixels(guided)).mean() > 0.5
    # An interval no step falls in is sampling without guidance (g = 1).
    none = generate(zero_snr, "sdss, spiral galaxy", n=2, steps=4, guidance_interval=(0, 100))
    unguided = generate(zero_snr, "sdss, spiral galaxy", n=2, steps=4, guidance=1.0)
    assert np.abs(_pixels(none) - _pixels(unguided)).max() <= 1


def test_an_interval_from_a_reference_starts_where_the_image_to_image_pipeline_does(
    zero_snr, tmp_path
):
    """Strength 0.5 of 4 trailing steps runs t = 499, 249; (0, 300) guides only the last."""
    from PIL import Image

    rng = np.random.default_rng(1)
    reference = tmp_path / "real.png"
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(reference)
    kwargs = {"n": 2, "seed": 3, "steps": 4, "reference": reference, "strength": 0.5}
    plain = generate(zero_snr, "sdss, spiral galaxy", **kwargs)
    full = generate(zero_snr, "sdss, spiral galaxy", guidance_interval=(0, 1000), **kwargs)
    assert np.abs(_pixels(plain) - _pixels(full)).max() <= 1
    with _unet_rows(zero_snr) as rows:
        limited = generate(zero_snr, "sdss, spiral galaxy", guidance_interval=(0, 300), **kwargs)
    assert rows == [2, 4]
    assert np.abs(_pixels(limited) - _pixels(plain)).mean() > 0.5
    assert limited.metadata[0]["guidance_interval"] == [0.0, 300.0]
    # The evaluation's generator passes the interval on in reference mode too.
    from galaxysd_core.metrics.evaluate import diffusion_generate

    with _unet_rows(zero_snr) as rows:
        diffusion_generate(
            zero_snr, "sdss, spiral galaxy", n=1, seed=3, steps=4, guidance=7.0, strength=0.5,
            scheduler="euler_a", references=[str(reference)], guidance_interval=(0, 300),
        )  # fmt: skip
    assert rows == [1, 2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reference": "x.png", "strength": 0.2}, "runs none of the 2 steps"),
        ({"guidance_interval": (600, 200)}, "0 <= LOW < HIGH <= 1000"),
        ({"guidance_interval": (0, 1200)}, "0 <= LOW < HIGH <= 1000"),
        ({"guidance_interval": (0, 100, 200)}, "two timesteps LOW HIGH"),
        ({"guidance_interval": (0, 600), "guidance_rescale": 0.7}, "without guidance_rescale"),
        ({"eps_scale": 0.9}, r"eps_scale must be a number in \[1, 1.1\], got 0.9"),
        ({"eps_scale": "1.01"}, "eps_scale must be a number"),
        ({"eps_scale": 1.01, "guidance_rescale": 0.7}, "eps_scale works without guidance_rescale"),
        ({"guide_weight": 0.5}, r"guide_weight must be a number in \[1, 4\], got 0.5"),
        ({"guide_weight": True}, "guide_weight must be a number"),
    ],
)
def test_bad_guidance_intervals_name_the_field(zero_snr, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        generate(zero_snr, "sdss, spiral galaxy", n=1, steps=2, **kwargs)


@pytest.mark.parametrize("schedule", ["sd15", "zero_snr"])
def test_eps_scaling_divides_the_noise_the_sampler_reads_off(schedule):
    """DDIM's own reading of the output (epsilon or v) is the oracle for the conversion."""
    from diffusers import DDIMScheduler

    from galaxysd_core.diffusion.composable import scale_noise_prediction

    config = tiny_components(0, noise_schedule=schedule)["scheduler"].config
    ddim = DDIMScheduler.from_config(config, clip_sample=False)
    ddim.set_timesteps(4)
    t = ddim.timesteps[1]
    gen = torch.Generator().manual_seed(0)
    output, sample = torch.randn(2, 1, 4, 8, 8, generator=gen)
    alpha_bar = ddim.alphas_cumprod[int(t)]

    def noise_read_off(out):
        clean = ddim.step(out, t, sample).pred_original_sample
        return (sample - alpha_bar.sqrt() * clean) / (1 - alpha_bar).sqrt()

    scaled = scale_noise_prediction(ddim, output, sample, t, 1.05)
    assert torch.allclose(noise_read_off(scaled), noise_read_off(output) / 1.05, atol=1e-5)


def test_eps_scaling_spares_the_first_step_and_changes_the_rest(zero_snr):
    one = {"n": 2, "seed": 4, "steps": 1}
    # One step: only the untouched first one runs, so the pipeline's pixels come back.
    plain = generate(zero_snr, "sdss, spiral galaxy", **one)
    scaled = generate(zero_snr, "sdss, spiral galaxy", eps_scale=1.05, **one)
    assert np.abs(_pixels(plain) - _pixels(scaled)).max() <= 1
    kwargs = {"n": 2, "seed": 4, "steps": 4}
    plain = generate(zero_snr, "sdss, spiral galaxy", **kwargs)
    scaled = generate(zero_snr, "sdss, spiral galaxy", eps_scale=1.05, **kwargs)
    assert np.abs(_pixels(plain) - _pixels(scaled)).mean() > 0.5
    assert scaled.metadata[0]["eps_scale"] == 1.05 and plain.metadata[0]["eps_scale"] == 1.0
    # The evaluation's generator passes it on.
    from galaxysd_core.metrics.evaluate import diffusion_generate

    again = diffusion_generate(
        zero_snr, "sdss, spiral galaxy", n=2, seed=4, steps=4, guidance=7.0, strength=0.6,
        scheduler="euler_a", references=None, eps_scale=1.05,
    )  # fmt: skip
    assert np.abs(_pixels(scaled) - np.stack([np.asarray(i, np.int16) for i in again])).max() <= 1


def _copy_with_scaled_output(pipeline, factor):
    """The pipeline with its UNet's last convolution multiplied by ``factor`` (its output too)."""
    import copy

    twin = build_pipeline({**pipeline.components, "unet": copy.deepcopy(pipeline.unet)})
    with torch.no_grad():
        twin.unet.conv_out.weight.mul_(factor)
        twin.unet.conv_out.bias.mul_(factor)
    return twin


def test_autoguidance_moves_away_from_the_guide_by_its_weight(zero_snr):
    kwargs = {"n": 2, "seed": 4, "steps": 4}
    # A guide that predicts exactly what the model does changes nothing, CFG or not.
    plain = generate(zero_snr, "sdss, spiral galaxy", **kwargs)
    same = generate(zero_snr, "sdss, spiral galaxy", guide=zero_snr, guide_weight=2.5, **kwargs)
    assert np.abs(_pixels(plain) - _pixels(same)).max() <= 1
    # A guide predicting zero: w * main, which is the model with its output scaled by w.
    silent = _copy_with_scaled_output(zero_snr, 0.0)
    doubled = _copy_with_scaled_output(zero_snr, 2.0)
    unguided = {**kwargs, "guidance": 1.0}
    auto = generate(zero_snr, "sdss, spiral galaxy", guide=silent, guide_weight=2.0, **unguided)
    oracle = generate(doubled, "sdss, spiral galaxy", **unguided)
    assert np.abs(_pixels(auto) - _pixels(oracle)).max() <= 1
    assert (
        np.abs(
            _pixels(auto) - _pixels(generate(zero_snr, "sdss, spiral galaxy", **unguided))
        ).mean()
        > 0.5
    )
    assert auto.metadata[0]["guide_weight"] == 2.0 and plain.metadata[0]["guide"] is None
    # Weight 1 is off: the pipeline's own path and pixels.
    off = generate(zero_snr, "sdss, spiral galaxy", guide=silent, guide_weight=1.0, **kwargs)
    assert np.abs(_pixels(plain) - _pixels(off)).max() <= 1


def test_a_guide_of_another_schedule_is_refused_by_name(zero_snr, sd15_like):
    with pytest.raises(ConfigError, match="guide: its prediction type is 'epsilon'"):
        generate(zero_snr, "sdss, spiral galaxy", n=1, steps=2, guide=sd15_like, guide_weight=2.0)


@pytest.mark.parametrize("schedule", ["sd15", "zero_snr"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"scheduler": "dpmpp_2m"},
        {"guidance_interval": (0, 1000)},
        {"guidance_interval": (0, 400)},
    ],
    ids=["pipeline-euler-a", "pipeline-dpmpp", "own-loop", "own-loop-interval"],
)
def test_an_ideal_denoiser_samples_back_a_training_image(schedule, options):
    """The sampling path is sound: driven by the exact denoiser of a few latents,
    every path (diffusers' pipeline and the own loop) ends on one of them, for
    epsilon and v prediction (``benchmarks/oracle_sampler.py`` on real models)."""
    import sys

    from diffusers import DDPMScheduler

    from galaxysd_core.paths import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    from oracle_sampler import ideal_denoiser

    pipe = build_pipeline(tiny_components(0, noise_schedule=schedule))
    side = pipe.unet.config.sample_size
    train = torch.randn(3, pipe.unet.config.in_channels, side, side, generator=torch.manual_seed(1))
    ddpm = DDPMScheduler.from_config(pipe.scheduler.config)
    pipe.unet.forward = ideal_denoiser(train, ddpm.alphas_cumprod, ddpm.config.prediction_type)
    with torch.no_grad():
        decoded = pipe.vae.decode(train / pipe.vae.config.scaling_factor).sample
    trips = pipe.image_processor.postprocess(decoded, output_type="np") * 255
    made = generate(pipe, "sdss, smooth", n=4, steps=20, **options)
    for image in made.images:
        got = np.asarray(image, dtype=np.float64)
        nearest = min(np.abs(got - trip).max() for trip in trips)
        assert nearest <= 1.0  # one level of 255: rounding
    # The training images differ by far more than that.
    assert np.abs(trips[0] - trips[1]).max() > 20
