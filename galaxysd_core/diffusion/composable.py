"""Composable guidance: one image guided by several prompts joined by ``AND``.

Classifier-free guidance moves each denoising step from the unconditional
prediction towards one prompt's: ``u + g (c - u)``. Composable diffusion
(Liu et al. 2022, "Compositional Visual Generation with Composable Diffusion
Models") sums one such move per term, ``u + g * sum_i w_i (c_i - u)``, so a
model can be asked for a pair its captions never showed together. The
paper's unseen D-ETG is such a pair: the training captions carry "dust lane"
only on disks, never on a smooth round host (``DETG_COMPOSED_PROMPTS`` in
:mod:`galaxysd_core.gz2.prompts`). The sum is linear in the model output, so
it holds for epsilon and v prediction alike.

The same loop serves four things diffusers' text-to-image pipeline cannot do:
a guidance interval (guidance on some steps only; it guides every step
alike), epsilon scaling against exposure bias (it passes the UNet's
prediction to the sampler as it is), autoguidance (a second, weaker UNet to
steer away from; :class:`Autoguide`) and perturbed-attention guidance on
some steps only, with any of those (:func:`perturbed_self_attention`).

The loop mirrors diffusers' text-to-image pipeline step for step (latents
drawn per image from its own generator, scaled by the sampler's initial
sigma, the same sampler calls and VAE decode), and with reference images its
image-to-image pipeline (each reference encoded with its image's generator,
noised to the first of the last ``strength`` part of the steps), so one term
of weight 1 gives the pipelines' own pixels; the tests check that. Pixels
agree up to one level in 255 (not bit for bit) across batch sizes: the
UNet's float sums differ by about 1e-6 between batch sizes, which now and
then flips a rounding.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from galaxysd_core.errors import ConfigError

__all__ = ["Autoguide", "perturbed_self_attention", "sample_composed", "scale_noise_prediction"]


@dataclass
class Autoguide:
    """A weaker model to guide away from (Karras et al. 2024, autoguidance).

    "Guiding a Diffusion Model with a Bad Version of Itself" (Karras et al.,
    NeurIPS 2024): a smaller, shorter-trained model of the same task makes
    the same kind of errors as the main one, only more of them, so each
    step moves further along ``main - guide``: ``guide + w (main - guide)``
    for one conditional prediction. Unlike classifier-free guidance it
    sharpens images without narrowing their variety. Here it is added to
    whatever classifier-free guidance does: ``out + (w - 1) (main_c - guide_c)``
    with ``main_c`` and ``guide_c`` each model's prediction for the prompt
    (terms combined with ``g = 1``).

    Attributes
    ----------
    unet : diffusers.UNet2DConditionModel
        The guide's UNet, trained on the same latents (the same VAE encoder)
        with the same noise schedule and prediction type.
    terms : sequence of sequence of (torch.Tensor, float)
        Per image, its terms' embeddings by the guide's own text encoder.
    uncond : torch.Tensor
        The negative prompt by the guide's text encoder.
    weight : float
        ``w``; 1 changes nothing, Karras et al. use about 2-3.
    """

    unet: Any
    terms: Sequence[Sequence[tuple[torch.Tensor, float]]]
    uncond: torch.Tensor
    weight: float


def sample_composed(
    pipeline: Any,
    scheduler: Any,
    terms: Sequence[Sequence[tuple[torch.Tensor, float]]],
    uncond: torch.Tensor,
    *,
    seeds: Sequence[int],
    steps: int,
    guidance: float,
    size: int,
    guidance_interval: tuple[float, float] | None = None,
    references: Sequence[Any] | None = None,
    strength: float = 0.6,
    eps_scale: float = 1.0,
    autoguide: Autoguide | None = None,
    pag_scale: float = 0.0,
    pag_interval: tuple[float, float] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> list[Any]:
    """Sample one batch of images, each guided by its own weighted terms.

    Parameters
    ----------
    pipeline : diffusers.StableDiffusionPipeline
        Supplies the UNet, the VAE and the image post-processor; not modified.
    scheduler : diffusers scheduler
        A fresh sampler (from :func:`~galaxysd_core.diffusion.pipelines.make_scheduler`).
    terms : sequence of sequence of (torch.Tensor, float)
        Per image, its terms' text embeddings (``(window, hidden)``) and weights.
    uncond : torch.Tensor
        The negative prompt's embedding, ``(window, hidden)``.
    seeds : sequence of int
        One per image: its starting noise and sampler noise.
    steps : int
        Sampler steps.
    guidance : float
        Guidance scale ``g``; each term moves the sample by ``g * w_i``.
    size : int
        Output side in pixels.
    guidance_interval : (float, float), optional
        Guide only the steps whose timestep lies in ``[low, high]``; the
        others take the prompts' plain prediction (``g = 1``). Kynkäänniemi et
        al. 2024 ("Applying Guidance in a Limited Interval Improves Sample and
        Distribution Quality in Diffusion Models") find guidance at high noise
        costs diversity and buys little. None guides every step.
    references : sequence of PIL.Image.Image, optional
        One start image per seed (image-to-image); None starts from noise.
    strength : float, default 0.6
        With references: the last ``strength`` part of the steps runs.
    eps_scale : float, default 1.0
        Divide the predicted noise by this from the second step on
        (:func:`scale_noise_prediction`); 1 leaves it alone.
    autoguide : Autoguide, optional
        A weaker model to steer away from, at every step; None: no autoguidance.
    pag_scale : float, default 0.0
        Perturbed-attention guidance (Ahn et al. 2024, "Self-Rectifying
        Diffusion Sampling with Perturbed-Attention Guidance"): each step
        also moves by ``pag_scale`` times the prompts' prediction minus the
        same prediction with every self-attention map replaced by the
        identity (:func:`perturbed_self_attention`), one more UNet pass in
        the same batch. 0 is off.
    pag_interval : (float, float), optional
        Apply it only on the steps whose timestep lies in ``[low, high]``;
        None: every step.
    on_step : callable, optional
        Called with the 0-based step index after every step (progress, stop).

    Returns
    -------
    list of PIL.Image.Image
    """
    from diffusers.utils.torch_utils import randn_tensor

    unet, vae = pipeline.unet, pipeline.vae
    n = len(seeds)
    generators = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
    if references is None:
        side = size // pipeline.vae_scale_factor
        shape = (n, unet.config.in_channels, side, side)
        # Drawn by the CPU generators and moved, as diffusers' pipelines do:
        # a seed gives the same start on every device.
        latents = randn_tensor(shape, generator=generators, device=unet.device, dtype=uncond.dtype)
        latents = latents * scheduler.init_noise_sigma
        scheduler.set_timesteps(steps)
        timesteps = scheduler.timesteps
    else:
        latents, timesteps = _noised_references(
            pipeline, scheduler, references, generators, steps, strength, uncond.dtype
        )
    # One UNet batch per step: every image's unconditional row, then each
    # (image, term) row; ``owner`` maps a term row back to its image.
    embeds = [uncond] * n + [emb for image in terms for emb, _ in image]
    context = torch.stack(embeds).to(unet.device)
    owner = torch.tensor([i for i, image in enumerate(terms) for _ in image], device=unet.device)
    weights = torch.tensor(
        [w for image in terms for _, w in image], dtype=latents.dtype, device=unet.device
    )
    # As the pipeline does: samplers that draw noise (Euler-a) take the generators.
    takes_generator = "generator" in inspect.signature(scheduler.step).parameters
    extra = {"generator": generators} if takes_generator else {}
    # One term of weight 1 per image: an unguided step (g = 1) is the term's
    # own prediction, so the unconditional rows can be skipped there.
    plain = len(owner) == n and bool((weights == 1).all())
    if autoguide is not None:
        guide_context = torch.stack(
            [autoguide.uncond] * n + [emb for image in autoguide.terms for emb, _ in image]
        ).to(unet.device)
    for index, t in enumerate(timesteps):
        scaled = scheduler.scale_model_input(latents, t)
        inside = guidance_interval is None or (
            guidance_interval[0] <= float(t) <= guidance_interval[1]
        )
        prompts_only = plain and not inside
        if prompts_only:
            rows, rows_context = scaled, context[n:]
        else:
            rows, rows_context = torch.cat([scaled, scaled[owner]]), context
        perturb = pag_scale != 0.0 and (
            pag_interval is None or pag_interval[0] <= float(t) <= pag_interval[1]
        )
        if perturb:
            # The same rows twice in one batch: the second copy is perturbed.
            with perturbed_self_attention(unet):
                doubled = torch.cat([rows, rows])
                out, out_perturbed = unet(
                    doubled, t, encoder_hidden_states=torch.cat([rows_context, rows_context])
                ).sample.chunk(2)
        else:
            out = unet(rows, t, encoder_hidden_states=rows_context).sample
        scale = guidance if inside else 1.0
        guided, prompted = _predictions(out, n, owner, weights, scale, plain, prompts_only)
        if perturb:
            _, perturbed = _predictions(
                out_perturbed, n, owner, weights, scale, plain, prompts_only
            )
            guided = guided + pag_scale * (prompted - perturbed)
        if autoguide is not None and autoguide.weight != 1.0:
            if plain:
                weak = autoguide.unet(scaled, t, encoder_hidden_states=guide_context[n:]).sample
            else:
                rows = torch.cat([scaled, scaled[owner]])
                out = autoguide.unet(rows, t, encoder_hidden_states=guide_context).sample
                weak = _combine(out[:n], out[n:], owner, weights)
            guided = guided + (autoguide.weight - 1.0) * (prompted - weak)
        # The first step's input is drawn exactly as in training (pure noise
        # or a noised real image); exposure bias starts with the sampler's
        # own output, so the scaling does too.
        if eps_scale != 1.0 and index > 0:
            guided = scale_noise_prediction(scheduler, guided, scaled, t, eps_scale)
        latents = scheduler.step(guided, t, latents, **extra).prev_sample
        if on_step is not None:
            on_step(index)
    decoded = vae.decode(latents / vae.config.scaling_factor).sample
    return pipeline.image_processor.postprocess(decoded, output_type="pil")


def _predictions(
    out: torch.Tensor,
    n: int,
    owner: torch.Tensor,
    weights: torch.Tensor,
    scale: float,
    plain: bool,
    prompts_only: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The guided prediction and the prompts' own one from a step's UNet rows.

    ``out`` holds the prompts' rows alone when ``prompts_only`` (an unguided
    step of one plain prompt per image), else the ``n`` unconditional rows
    followed by one row per (image, term).
    """
    if prompts_only:
        return out, out
    base, cond = out[:n], out[n:]
    guided = _combine(base, cond, owner, scale * weights)
    return guided, cond if plain else _combine(base, cond, owner, weights)


@contextmanager
def perturbed_self_attention(unet: Any) -> Iterator[None]:
    """Inside, the UNet's self-attention layers perturb the second half of each batch.

    Perturbed-attention guidance (Ahn et al. 2024) replaces every
    self-attention map by the identity, so each position keeps its own
    value and the layout that attention spreads across the image is lost;
    steering away from that prediction strengthens structure. diffusers'
    own PAG processor does the split (first half as usual, second half
    perturbed); the model's processors are put back on exit, also after an
    error.

    Raises
    ------
    ConfigError
        The UNet has no self-attention layer to perturb.
    """
    from diffusers.models.attention_processor import PAGIdentitySelfAttnProcessor2_0

    saved = dict(unet.attn_processors)
    # attn1 is each transformer block's self-attention, attn2 its cross-attention.
    names = [name for name in saved if name.endswith("attn1.processor")]
    if not names:
        raise ConfigError("pag_scale needs self-attention layers; this UNet has none")
    identity = PAGIdentitySelfAttnProcessor2_0()
    # set_attn_processor empties the dict it is given: a fresh one each time.
    unet.set_attn_processor({k: identity if k in names else v for k, v in saved.items()})
    try:
        yield
    finally:
        unet.set_attn_processor(dict(saved))


def _combine(
    base: torch.Tensor, cond: torch.Tensor, owner: torch.Tensor, scales: torch.Tensor
) -> torch.Tensor:
    """Each image's ``base + sum_i scales_i (cond_i - base)`` over its term rows."""
    push = (cond - base[owner]) * scales[:, None, None, None]
    return base.index_add(0, owner, push)


def scale_noise_prediction(
    scheduler: Any, output: torch.Tensor, sample: torch.Tensor, t: Any, eps_scale: float
) -> torch.Tensor:
    """The model output whose implied noise is the predicted noise over ``eps_scale``.

    Epsilon scaling (Ning et al. 2024, "Elucidating the Exposure Bias in
    Diffusion Models"): a network fed its own, slightly off samples predicts
    noise of too large a norm; dividing the prediction by ``eps_scale``
    (slightly above 1) moves each step back towards the training
    distribution. The clean-image estimate follows from the scaled noise, as
    in DDIM, so the sampler sees one consistent prediction.

    Parameters
    ----------
    scheduler : diffusers scheduler
        Supplies ``alphas_cumprod`` and ``config.prediction_type``.
    output : torch.Tensor
        The (guided) UNet output at timestep ``t``.
    sample : torch.Tensor
        The UNet's input at ``t`` in variance-preserving units
        (``scheduler.scale_model_input`` of the latents).
    t : int or torch.Tensor
        The training timestep.
    eps_scale : float
        The divisor.

    Returns
    -------
    torch.Tensor
        An output of the same kind (epsilon or v) as ``output``.

    Raises
    ------
    ConfigError
        For a model predicting neither epsilon nor v.
    """
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return output / eps_scale
    if kind != "v_prediction":
        raise ConfigError(f"eps_scale needs an epsilon or v-prediction model, not {kind!r}")
    alpha_bar = scheduler.alphas_cumprod[int(t)].to(output.dtype)
    a, s = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    # v = a * eps - s * x0 and x_t = a * x0 + s * eps give eps = a v + s x_t.
    eps = (a * output + s * sample) / eps_scale
    return (eps - s * sample) / a


def _noised_references(
    pipeline: Any,
    scheduler: Any,
    references: Sequence[Any],
    generators: list[torch.Generator],
    steps: int,
    strength: float,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The image-to-image start: references encoded, noised; the timesteps left.

    The order of random draws is the image-to-image pipeline's (each image's
    latent sample, then the batch's noise from the same generators), so the
    same seeds give the same start.
    """
    from diffusers.utils.torch_utils import randn_tensor

    vae = pipeline.vae
    scheduler.set_timesteps(steps)
    skipped = steps - min(int(steps * strength), steps)
    timesteps = scheduler.timesteps[skipped * scheduler.order :]
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(skipped * scheduler.order)
    pixels = pipeline.image_processor.preprocess(list(references)).to(vae.device, dtype)
    clean = torch.cat(
        [vae.encode(pixels[i : i + 1]).latent_dist.sample(g) for i, g in enumerate(generators)]
    )
    clean = clean * vae.config.scaling_factor
    noise = randn_tensor(clean.shape, generator=generators, device=clean.device, dtype=dtype)
    start = timesteps[:1].repeat(len(generators))
    return scheduler.add_noise(clean, noise, start), timesteps
