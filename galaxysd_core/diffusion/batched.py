"""Synthetic positives written batch by batch: resumable, with per-step progress.

:func:`galaxysd_core.diffusion.generate` writes its images only when the whole
call is done, so one call for hundreds of images is a long silent step that an
interruption throws away. :func:`generate_into` cuts the work into batches of
consecutive seeds: each finished batch is on disk (``galaxy-<seed>.png``), a
rerun skips the batches whose files all exist, and every sampler step of every
batch is reported on one overall scale.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from galaxysd_core.errors import ConfigError
from galaxysd_core.progress import Progress

log = logging.getLogger(__name__)


class _Share(Progress):
    """Maps one batch's sampler step onto the whole generation's image-steps.

    One sampler step advances every image of the batch, so step ``s`` of a
    batch of ``images`` is ``offset + s * images`` image-steps overall.
    """

    def __init__(
        self, parent: Progress, *, offset: int, images: int, grand_total: int, message: str
    ) -> None:
        self.parent, self.offset, self.images = parent, offset, images
        self.grand_total, self.message = grand_total, message

    def update(self, step: int, total: int, **logs: Any) -> None:
        logs["message"] = self.message
        self.parent.update(self.offset + step * self.images, self.grand_total, **logs)

    def should_stop(self) -> bool:
        return self.parent.should_stop()


def generate_into(
    model: str | os.PathLike[str],
    prompt: str,
    folder: str | os.PathLike[str],
    *,
    n: int,
    seed: int,
    steps: int,
    guidance: float,
    guidance_interval: Sequence[float] | None = None,
    guide: str | os.PathLike[str] | None = None,
    guide_weight: float = 1.0,
    pag_scale: float = 0.0,
    pag_interval: Sequence[float] | None = None,
    batch_size: int = 8,
    progress: Progress | None = None,
    message: str = "synthetic",
) -> list[Path]:
    """Generate images ``seed .. seed + n - 1`` of one prompt into ``folder``.

    Parameters
    ----------
    model : path-like
        A diffusers model folder; loaded only when an image is missing.
    prompt : str
        Weighted prompt (e.g. ``"sdss, {completely round:1.2} galaxy, {dust lane:1.3}"``).
    folder : path-like
        Where ``galaxy-<seed>.png`` (+ ``.json``) go; created.
    n : int
        Number of images.
    seed : int
        Seed of the first image; image ``i`` uses ``seed + i``.
    steps : int
        Sampler steps.
    guidance : float
        Classifier-free guidance scale.
    guidance_interval : (low, high), optional
        Guide only the steps with ``low <= t <= high`` (see :func:`generate`).
    guide : path-like, optional
        Autoguidance partner folder, loaded with the model (``generate``'s ``guide``).
    guide_weight : float, default 1.0
        Autoguidance weight; 1 is off.
    pag_scale : float, default 0.0
        Perturbed-attention guidance scale; 0 is off (see :func:`generate`).
    pag_interval : (low, high), optional
        Perturbed-attention guidance on ``low <= t <= high`` only; None: every step.
    batch_size : int, default 8
        Images per :func:`generate` call: the unit that is written and resumed.
    progress : Progress, optional
        One update per sampler step on the scale ``0 .. steps * (images still
        to make)``; a stop request raises ``Cancelled`` and keeps the finished
        batches.
    message : str, default "synthetic"
        The progress message.

    Returns
    -------
    list of Path
        The ``n`` image files in seed order.

    Raises
    ------
    ConfigError
        If ``n`` or ``batch_size`` is < 1.
    """
    from galaxysd_core.diffusion import generate, load_pipeline

    if n < 1 or batch_size < 1:
        raise ConfigError(f"n and batch_size must be >= 1, got {n} and {batch_size}")
    progress = progress or Progress()
    folder = Path(folder)
    paths = [folder / f"galaxy-{seed + i}.png" for i in range(n)]
    starts = range(0, n, batch_size)
    todo = [s for s in starts if not all(p.exists() for p in paths[s : s + batch_size])]
    if len(todo) < len(starts):
        log.info(
            "%s: %d of %d batches already on disk", folder, len(starts) - len(todo), len(starts)
        )
    grand_total = steps * sum(len(paths[s : s + batch_size]) for s in todo)
    pipeline = load_pipeline(model) if todo else None
    weak = load_pipeline(guide) if todo and guide is not None and guide_weight != 1.0 else None
    done = 0
    for start in todo:
        count = len(paths[start : start + batch_size])
        # Progress counts image-steps so batches of unequal size share one scale.
        share = _Share(
            progress, offset=done, images=count, grand_total=grand_total, message=message
        )
        generate(
            pipeline,
            prompt,
            n=count,
            seed=seed + start,
            steps=steps,
            guidance=guidance,
            guidance_interval=guidance_interval,
            guide=weak,
            guide_weight=guide_weight if weak is not None else 1.0,
            pag_scale=pag_scale,
            pag_interval=pag_interval,
            batch_size=count,
            out=folder,
            progress=share,
        )
        done += steps * count
    return paths
