"""Text-to-galaxy generation, from noise or from a noised real reference.

Text-only sampling starts from pure noise. Reference-start sampling (img2img)
starts from a real image noised to ``strength``: the paper's fix for
over-brightness (Sec. 2, Sec. 4) is to start from a randomly chosen real image
carrying the same tags, which ``reference="auto"`` does. Every image gets its
own seed (``seed + i``) so image ``i`` is the same whatever ``n`` and the batch
size; its PNG carries the full recipe in text chunks and a sidecar JSON.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from galaxysd_core import __version__
from galaxysd_core.diffusion.checks import (
    check_eps_scale,
    check_generation,
    check_guidance_interval,
    check_guide_weight,
    check_pag_scale,
)
from galaxysd_core.diffusion.composable import Autoguide, sample_composed
from galaxysd_core.diffusion.data import Record, load_image, read_metadata
from galaxysd_core.diffusion.pipelines import make_scheduler
from galaxysd_core.diffusion.pnginfo import write_images
from galaxysd_core.errors import ConfigError, ImageReadError
from galaxysd_core.progress import Progress
from galaxysd_core.prompts import encode_weighted, parse_weighted, plain_text, split_composed

log = logging.getLogger(__name__)


@dataclass
class Generation:
    """What :func:`generate` made.

    Attributes
    ----------
    images : list of PIL.Image.Image
    metadata : list of dict
        One recipe per image (prompt, weights, seed, model, scheduler, steps,
        guidance, reference, strength, ...).
    paths : list of Path
        The PNG files written (empty when ``out`` was None).
    """

    images: list[Any]
    metadata: list[dict[str, Any]]
    paths: list[Path] = field(default_factory=list)


def phrases(text: str) -> set[str]:
    """The set of comma-separated phrases of a prompt, weights removed, lower case."""
    return {p.strip().lower() for p in plain_text(text).split(",") if p.strip()}


def matching_records(pool: list[Record], prompt: str) -> list[Record]:
    """Real images whose prompt carries every phrase of ``prompt`` (the best overlap if none).

    Raises
    ------
    ConfigError
        If the pool is empty.
    """
    if not pool:
        raise ConfigError("the reference pool holds no images")
    wanted = phrases(prompt)
    scored = [(len(wanted & phrases(r.text)), r) for r in pool]
    best = max(score for score, _ in scored)
    return [r for score, r in scored if score == best]


def _references(
    reference: str | os.PathLike[str] | None,
    *,
    prompts: list[str],
    seeds: list[int],
    pool: str | os.PathLike[str] | None,
    size: int,
) -> list[tuple[str, Any]] | None:
    """Resolve the reference of each image: ``[(name, PIL image), ...]`` or None."""
    from PIL import Image

    if reference is None:
        return None

    def pil(path: Path) -> Any:
        array = ((load_image(path, size=size).permute(1, 2, 0) + 1) * 127.5).round()
        return Image.fromarray(array.clamp(0, 255).to(torch.uint8).numpy())

    if str(reference) == "auto":
        if pool is None:
            raise ConfigError("reference='auto' needs pool= (a prepared dataset folder)")
        records = read_metadata(pool)
        chosen = [
            random.Random(s).choice(matching_records(records, p)).image
            for p, s in zip(prompts, seeds, strict=True)
        ]
        return [(str(path), pil(path)) for path in chosen]
    path = Path(reference)
    if not path.is_file():
        raise ImageReadError(f"reference image {path} does not exist")
    image = pil(path)
    return [(str(path), image)] * len(seeds)


def _model_name(pipeline: Any) -> str:
    """The folder a pipeline was loaded from, as diffusers records it ("" if none)."""
    return str(getattr(pipeline, "name_or_path", "") or "")


def _check_guide_matches(pipeline: Any, guide: Any) -> None:
    """Refuse an autoguidance model whose predictions cannot be mixed with the main one's.

    Raises
    ------
    ConfigError
        Naming the first setting that differs: latent channels or grid,
        prediction type (epsilon or v), training timesteps, or tokenizer window.
    """
    pairs = {
        "latent channels": (pipeline.unet.config.in_channels, guide.unet.config.in_channels),
        "latent side": (pipeline.unet.config.sample_size, guide.unet.config.sample_size),
        "prediction type": (
            pipeline.scheduler.config.prediction_type,
            guide.scheduler.config.prediction_type,
        ),
        "training timesteps": (
            pipeline.scheduler.config.num_train_timesteps,
            guide.scheduler.config.num_train_timesteps,
        ),
        "rescaled zero-SNR betas": (
            bool(pipeline.scheduler.config.get("rescale_betas_zero_snr", False)),
            bool(guide.scheduler.config.get("rescale_betas_zero_snr", False)),
        ),
        "tokenizer window": (pipeline.tokenizer.model_max_length, guide.tokenizer.model_max_length),
    }
    for what, (main, weak) in pairs.items():
        if main != weak:
            raise ConfigError(
                f"guide: its {what} is {weak!r}, the model's {main!r}; "
                "autoguidance needs a model of the same latents and schedule"
            )


def generate(
    pipeline,
    prompt: str | Sequence[str],
    *,
    n: int = 4,
    seed: int = 0,
    steps: int = 30,
    guidance: float = 7.0,
    scheduler: Literal["euler_a", "dpmpp_2m", "ddim"] = "euler_a",
    timestep_spacing: Literal["leading", "trailing", "linspace"] | None = None,
    guidance_rescale: float = 0.0,
    guidance_interval: Sequence[float] | None = None,
    eps_scale: float = 1.0,
    guide: Any = None,
    guide_weight: float = 1.0,
    pag_scale: float = 0.0,
    pag_interval: Sequence[float] | None = None,
    negative_prompt: str = "",
    reference: str | os.PathLike[str] | None = None,
    strength: float = 0.6,
    pool: str | os.PathLike[str] | None = None,
    weighting: Literal["a1111", "compel"] = "a1111",
    batch_size: int = 8,
    out: str | os.PathLike[str] | None = None,
    names: Sequence[str] | None = None,
    model_name: str | None = None,
    progress: Progress | None = None,
) -> Generation:
    """Generate ``n`` galaxy images for a weighted prompt.

    Parameters
    ----------
    pipeline : diffusers.StableDiffusionPipeline
        From :func:`~galaxysd_core.diffusion.load_pipeline`; not modified.
    prompt : str or sequence of str
        Weighted prompt, e.g. ``"sdss, in-between round galaxy, {dust lane:1.3}"``;
        several prompts are sampled together, ``n`` images each. Terms joined
        by ``AND`` (``"sdss, completely round galaxy AND sdss, dust lane :0.6"``)
        guide each image together (composable guidance,
        :mod:`~galaxysd_core.diffusion.composable`).
    n : int, default 4
        Images per prompt.
    seed : int, default 0
        Image ``i`` uses seed ``seed + i``: same arguments, same pixels.
    steps : int, default 30
        Sampler steps (with a reference, only the last ``strength`` part runs).
    guidance : float, default 7.0
        Classifier-free guidance scale (the paper: 6.5-7.5).
    scheduler : {"euler_a", "dpmpp_2m", "ddim"}, default "euler_a"
    timestep_spacing : {"leading", "trailing", "linspace"}, optional
        Override the model's sampling timesteps; ``"trailing"`` starts from
        the last training step (Lin et al. 2023), also with SD-1.5 weights.
    guidance_rescale : float, default 0.0
        Rescale the guided prediction towards the conditional one's standard
        deviation (Lin et al. 2023, Sec. 3.4; 0.7 there), against the
        over-exposure of high CFG; text-only sampling only.
    guidance_interval : (low, high), optional
        Guide only the sampler steps with ``low <= t <= high`` (timesteps,
        0-1000); the others follow the prompt unguided, at half the UNet cost
        (:func:`~galaxysd_core.diffusion.composable.sample_composed`; with a
        reference too). Not with ``guidance_rescale``. None: every step.
    eps_scale : float, default 1.0
        Epsilon scaling against exposure bias (Ning et al. 2024): from the
        second step on, the predicted noise is divided by this, in [1, 1.1]
        (:func:`~galaxysd_core.diffusion.composable.scale_noise_prediction`).
        Runs in the own sampling loop, so not with ``guidance_rescale``.
        1 leaves the prediction alone.
    guide : diffusers.StableDiffusionPipeline, optional
        Autoguidance (Karras et al. 2024): a weaker model of the same latents
        to steer away from at every step, its UNet and text encoder used
        (:class:`~galaxysd_core.diffusion.composable.Autoguide`). Runs in the
        own sampling loop, so not with ``guidance_rescale``.
    guide_weight : float, default 1.0
        Autoguidance weight ``w`` in [1, 4]; 1 (or no ``guide``) is off.
    pag_scale : float, default 0.0
        Perturbed-attention guidance (Ahn et al. 2024) in [0, 10]: steer away
        from the prediction with every self-attention map made the identity
        (:func:`~galaxysd_core.diffusion.composable.perturbed_self_attention`).
        One more UNet row per image on the steps it acts on; own loop, so not
        with ``guidance_rescale``. 0 is off.
    pag_interval : (low, high), optional
        Apply it only on the steps with ``low <= t <= high``; the demo model's
        recommendation is the early steps, (400, 1000), beside guidance on
        (0, 400). None: every step.
    negative_prompt : str, default ""
    reference : None, path or "auto", default None
        Start from this real image noised to ``strength``; ``"auto"`` picks a
        random real image with the same tags from ``pool`` for every image.
    strength : float, default 0.6
        How much noise to add to the reference, in (0, 1]; 1 ignores it.
    pool : path, optional
        A prepared dataset folder (``metadata.jsonl``) for ``reference="auto"``.
    weighting : {"a1111", "compel"}, default "a1111"
        See :func:`galaxysd_core.prompts.encode_weighted`.
    batch_size : int, default 8
    out : path, optional
        Folder for ``<name>-<seed>.png`` + ``<name>-<seed>.json``; nothing is
        written when None, or when any input is bad.
    names : sequence of str, optional
        File name stem per prompt (default ``galaxy``).
    model_name : str, optional
        Recorded in the metadata (defaults to the pipeline's folder).
    progress : Progress, optional
        Gets one update per sampler step; a stop request raises ``Cancelled``.

    Returns
    -------
    Generation

    Raises
    ------
    ValueError
        Malformed prompt or bad numbers (``ConfigError``), an unknown scheduler.
    ImageReadError
        If the reference cannot be read.
    """
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline

    check_generation(n, steps, guidance, scheduler, strength)
    if not 0.0 <= guidance_rescale <= 1.0:
        raise ConfigError(f"guidance_rescale must be in [0, 1], got {guidance_rescale!r}")
    if guidance_rescale and reference is not None:
        # diffusers' img2img pipeline has no guidance_rescale.
        raise ConfigError("guidance_rescale works for text-only sampling; drop the reference")
    interval = check_guidance_interval(guidance_interval)
    if interval is not None and guidance_rescale:
        raise ConfigError("guidance_interval works without guidance_rescale; drop the rescale")
    check_eps_scale(eps_scale)
    if eps_scale != 1.0 and guidance_rescale:
        raise ConfigError("eps_scale works without guidance_rescale; drop the rescale")
    check_guide_weight(guide_weight)
    check_pag_scale(pag_scale)
    pag_steps = check_guidance_interval(pag_interval, "pag_interval")
    if pag_scale and guidance_rescale:
        raise ConfigError("pag_scale works without guidance_rescale; drop the rescale")
    autoguided = guide is not None and guide_weight != 1.0
    if autoguided:
        _check_guide_matches(pipeline, guide)
        if guidance_rescale:
            raise ConfigError("guide works without guidance_rescale; drop the rescale")
    if reference is not None and int(steps * strength) < 1:
        raise ConfigError(
            f"strength {strength!r} runs none of the {steps} steps; raise steps or strength"
        )
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    stems = list(names) if names is not None else ["galaxy"] * len(prompts)
    if not prompts or len(stems) != len(prompts):
        raise ConfigError(
            f"need at least one prompt and one name per prompt, got {len(prompts)} and {len(stems)}"
        )
    spans = {p: parse_weighted(p) for p in prompts}
    terms = {p: split_composed(p) for p in prompts}
    composed = any(len(t) > 1 for t in terms.values())
    # diffusers' pipeline guides every step alike and passes the UNet's
    # prediction on as it is; an interval or epsilon scaling needs the own loop.
    own_loop = composed or interval is not None or eps_scale != 1.0 or autoguided or pag_scale != 0
    parse_weighted(negative_prompt)
    if composed and guidance_rescale:
        raise ConfigError(
            "prompts joined by AND (composable guidance) work without guidance_rescale; "
            "drop the rescale"
        )
    size = pipeline.unet.config.sample_size * pipeline.vae_scale_factor
    jobs = [(p, stem, seed + i) for p, stem in zip(prompts, stems, strict=True) for i in range(n)]
    seeds = [s for _, _, s in jobs]
    refs = _references(
        reference, prompts=[p for p, _, _ in jobs], seeds=seeds, pool=pool, size=size
    )
    parts = {
        **pipeline.components,
        "scheduler": make_scheduler(
            scheduler, pipeline.scheduler.config, timestep_spacing=timestep_spacing
        ),
    }
    kind = StableDiffusionPipeline if refs is None else StableDiffusionImg2ImgPipeline
    runner = kind(**parts, requires_safety_checker=False)
    runner.set_progress_bar_config(disable=True)
    encoder = pipeline.text_encoder
    if own_loop:
        # Each term encoded on its own (a prompt without AND is one term of weight 1).
        term_embeds = {
            p: [(encode_weighted(pipeline.tokenizer, encoder, t, mode=weighting)[0], w)
                for t, w in terms[p]]
            for p in prompts
        }  # fmt: skip
    else:
        cond = encode_weighted(pipeline.tokenizer, encoder, prompts, mode=weighting)
        cond = cond.repeat_interleave(n, dim=0)
    # Built here, never from a string: diffusers mis-shapes string negatives
    # next to batched prompt_embeds.
    uncond = encode_weighted(pipeline.tokenizer, encoder, negative_prompt, mode=weighting)
    if autoguided:
        # The guide reads each prompt with its own text encoder.
        guide_terms = {
            p: [(encode_weighted(guide.tokenizer, guide.text_encoder, t, mode=weighting)[0], w)
                for t, w in terms[p]]
            for p in prompts
        }  # fmt: skip
        guide_uncond = encode_weighted(
            guide.tokenizer, guide.text_encoder, negative_prompt, mode=weighting
        )[0]
    per_batch = steps if refs is None else max(1, int(steps * strength))
    total = per_batch * ((len(jobs) + batch_size - 1) // batch_size)
    done = 0

    def on_step(_pipe: Any, index: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if progress is not None:
            progress.update(done + index + 1, total, message="sampling")
            progress.check_stop()
        return kwargs

    images: list[Any] = []
    with torch.inference_mode():
        for start in range(0, len(jobs), batch_size):
            chunk = seeds[start : start + batch_size]
            if own_loop:
                images.extend(
                    sample_composed(
                        pipeline,
                        parts["scheduler"],
                        [term_embeds[p] for p, _, _ in jobs[start : start + len(chunk)]],
                        uncond[0],
                        seeds=chunk,
                        steps=steps,
                        guidance=guidance,
                        size=size,
                        guidance_interval=interval,
                        references=None
                        if refs is None
                        else [img for _, img in refs[start : start + len(chunk)]],
                        strength=strength,
                        eps_scale=eps_scale,
                        autoguide=Autoguide(
                            guide.unet,
                            [guide_terms[p] for p, _, _ in jobs[start : start + len(chunk)]],
                            guide_uncond,
                            guide_weight,
                        )
                        if autoguided
                        else None,
                        pag_scale=pag_scale,
                        pag_interval=pag_steps,
                        on_step=lambda index: on_step(None, index, None, {}),
                    )
                )
            else:
                gens = [torch.Generator("cpu").manual_seed(s) for s in chunk]
                call: dict[str, Any] = {
                    "prompt_embeds": cond[start : start + len(chunk)],
                    "negative_prompt_embeds": uncond.expand(len(chunk), -1, -1),
                    "num_inference_steps": steps,
                    "guidance_scale": guidance,
                    "generator": gens,
                    "callback_on_step_end": on_step,
                }
                if refs is None:
                    call.update(height=size, width=size)
                    if guidance_rescale:
                        call.update(guidance_rescale=guidance_rescale)
                else:
                    call.update(
                        image=[img for _, img in refs[start : start + len(chunk)]],
                        strength=strength,
                    )
                images.extend(runner(**call).images)
            done += per_batch
    name = model_name or _model_name(pipeline)
    meta = [
        {
            "prompt": p,
            "weights": [[text, weight] for text, weight in spans[p]],
            "terms": [[text, weight] for text, weight in terms[p]],
            "negative_prompt": negative_prompt,
            "seed": s,
            "model": name,
            "scheduler": scheduler,
            "timestep_spacing": runner.scheduler.config.timestep_spacing,
            "guidance_rescale": guidance_rescale,
            "guidance_interval": None if interval is None else list(interval),
            "eps_scale": eps_scale,
            "guide": _model_name(guide) if autoguided else None,
            "guide_weight": guide_weight if autoguided else 1.0,
            "pag_scale": pag_scale,
            "pag_interval": None if pag_steps is None else list(pag_steps),
            "steps": steps,
            "guidance": guidance,
            "reference": None if refs is None else refs[i][0],
            "strength": strength,  # as asked; it acts only with a reference
            "weighting": weighting,
            "size": size,
            "galaxysd_version": __version__,
            "file_stem": f"{stem}-{s}",
        }
        for i, (p, stem, s) in enumerate(jobs)
    ]
    result = Generation(images, meta)
    if out is not None:
        result.paths = write_images(images, meta, out)
    return result
