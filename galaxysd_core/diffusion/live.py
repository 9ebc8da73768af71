"""Live preview: one fast image of the current settings.

The Compose page's Live mode redraws a preview on every change (a tag, a
weight, the seed, the guidance): :data:`LIVE_STEPS` steps of DPM++ 2M at the
same seed, one image; the full-quality batch stays on Generate.

The preview is drawn inside the page's own script run, not in a worker
thread: Streamlit already coalesces a burst of changes into one rerun with the
latest values (a slider reports on release), so no work queues. It runs on one
torch thread (see :func:`render_preview`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from galaxysd_core.progress import Progress

__all__ = ["LIVE_SCHEDULER", "LIVE_STEPS", "render_preview"]

#: Sampler and steps of a preview: DPM++ 2M converges in few steps.
LIVE_SCHEDULER = "dpmpp_2m"
LIVE_STEPS = 5


def render_preview(
    pipeline: Any,
    settings: Mapping[str, Any],
    progress: Progress | None = None,
    *,
    guide: Any = None,
) -> Any:
    """One preview image: :data:`LIVE_STEPS` DPM++ 2M steps at the settings' seed.

    Parameters
    ----------
    pipeline : diffusers.StableDiffusionPipeline
    settings : mapping
        ``prompt``, ``seed``, ``guidance``; optional ``negative_prompt``,
        ``reference`` (a path), ``strength``, ``guidance_interval``,
        ``eps_scale``, ``pag_scale``, ``pag_interval`` and ``guide_weight``
        (with ``guide``).
    progress : Progress, optional
        Gets the sampler steps; a stop request ends the preview (``Cancelled``).
    guide : diffusers.StableDiffusionPipeline, optional
        The model's autoguidance partner (``generate``'s ``guide``).

    Returns
    -------
    PIL.Image.Image
    """
    import torch

    from galaxysd_core.diffusion.sampling import generate

    strength = float(settings.get("strength") or 1.0)
    reference = settings.get("reference")
    # img2img runs only the last ``strength`` part of the steps: ask for enough
    # that LIVE_STEPS of them actually run.
    steps = LIVE_STEPS if reference is None else math.ceil(LIVE_STEPS / strength)
    # One thread: a 64 px UNet gains little from two, and two OpenMP threads on
    # cores busy with a background job stall at every barrier (on the shared
    # 2-core machine, load 17: 10-35 s per preview with two, 0.4-0.6 s with one).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return generate(
            pipeline,
            settings["prompt"],
            n=1,
            seed=int(settings["seed"]),
            steps=steps,
            guidance=float(settings["guidance"]),
            guidance_interval=settings.get("guidance_interval"),
            eps_scale=float(settings.get("eps_scale") or 1.0),
            guide=guide,
            guide_weight=float(settings.get("guide_weight") or 1.0),
            pag_scale=float(settings.get("pag_scale") or 0.0),
            pag_interval=settings.get("pag_interval"),
            scheduler=LIVE_SCHEDULER,
            negative_prompt=settings.get("negative_prompt") or "",
            reference=reference,
            strength=strength,
            progress=progress,
        ).images[0]
    finally:
        torch.set_num_threads(threads)
