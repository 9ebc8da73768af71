"""Training batches of a fine-tuning run: cached latents (or images) and shuffled prompts.

Every process draws its own batch from a seed derived from (seed, step, micro
step, process), so a resumed run draws exactly what an unbroken one would.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from galaxysd_core.diffusion.config import FinetuneConfig
from galaxysd_core.diffusion.data import (
    Record,
    dihedral,
    encode_latents,
    load_image,
    read_metadata,
    shuffle_phrases,
)
from galaxysd_core.errors import ConfigError

log = logging.getLogger(__name__)


def draw_probabilities(
    records: Sequence[Record], tag_weights: Mapping[str, float]
) -> np.ndarray | None:
    """Per-pair draw probabilities from tag weights (None: draw uniformly).

    Parameters
    ----------
    records : sequence of Record
        The dataset's pairs.
    tag_weights : mapping of str to float
        Weight of a pair carrying the tag; a pair takes its largest weight, 1
        when it carries none.

    Returns
    -------
    numpy.ndarray or None
        Probabilities summing to 1, or None when ``tag_weights`` is empty.

    Raises
    ------
    ConfigError
        A weighted tag that no pair of the dataset carries (a typo would
        otherwise silently train without the intended emphasis).
    """
    if not tag_weights:
        return None
    present = {t for r in records for t in r.tags}
    unknown = sorted(set(tag_weights) - present)
    if unknown:
        raise ConfigError(
            f"FinetuneConfig.tag_weights: no training pair carries {', '.join(unknown)} "
            f"(the dataset's tags: {', '.join(sorted(present))})"
        )
    weights = np.array(
        [max([tag_weights[t] for t in r.tags if t in tag_weights], default=1.0) for r in records],
        dtype=np.float64,
    )
    return weights / weights.sum()


class TrainingBatches:
    """Draws training batches: cached latents or images, prompts shuffled per step.

    Parameters
    ----------
    config : FinetuneConfig
        Its ``dataset``, ``batch``, ``seed``, ``augment``, ``cache_latents``,
        ``shuffle_tags``, ``tag_keep``, ``prompt_dropout`` and ``tag_weights``
        are used.
    pipe : diffusers.StableDiffusionPipeline
        Its VAE encodes the images; its UNet's sample size sets the image size.
    rank : int
        The process index (its draws differ from the other processes').
    cache_dir : Path
        Where ``latents-<augment>.pt`` is kept (written by process 0 only);
        a cache whose length does not match the dataset is encoded again.
    """

    def __init__(self, config: FinetuneConfig, pipe, rank: int, cache_dir: Path) -> None:
        self.config = config
        self.rank = rank
        self.records = read_metadata(config.dataset)
        self.draw_p = draw_probabilities(self.records, config.tag_weights)
        self.size = pipe.unet.config.sample_size * pipe.vae_scale_factor
        self.vae = pipe.vae
        self.latents: torch.Tensor | None = None
        if config.cache_latents:
            variants = 1 if config.augment_latents else config.augment
            cache = cache_dir / f"latents-{variants}.pt"
            if cache.exists():
                self.latents = torch.load(cache, weights_only=True)
            if self.latents is None or len(self.latents) != len(self.records):
                t0 = time.monotonic()
                self.latents = encode_latents(
                    pipe.vae, self.records, size=self.size, variants=variants
                )
                log.info("cached %d latents in %.0f s", self.latents.numel(), time.monotonic() - t0)
                if rank == 0:
                    cache_dir.mkdir(parents=True, exist_ok=True)
                    torch.save(self.latents, cache)

    def draw(self, step: int, micro: int, device: torch.device) -> tuple[torch.Tensor, list[str]]:
        """The latents (float32, on ``device``) and prompts of one micro-batch.

        Parameters
        ----------
        step, micro : int
            Optimiser step and gradient-accumulation micro step; with the
            seed and the rank they fix the draw.
        device : torch.device
        """
        c = self.config
        rng = np.random.default_rng([c.seed, step, micro, self.rank])
        if self.draw_p is None:
            index = rng.integers(0, len(self.records), c.batch)
        else:
            index = rng.choice(len(self.records), c.batch, p=self.draw_p)
        variant = rng.integers(0, c.augment, c.batch)
        prng = random.Random(int(rng.integers(2**31)))
        texts = []
        for i in index:
            text = self.records[i].text
            if c.shuffle_tags:
                text = shuffle_phrases(text, prng, keep=c.tag_keep)
            texts.append("" if prng.random() < c.prompt_dropout else text)
        if self.latents is not None and c.augment_latents:
            latents = torch.stack(
                [dihedral(self.latents[i, 0], int(k)) for i, k in zip(index, variant, strict=True)]
            ).to(device, torch.float32)
        elif self.latents is not None:
            latents = self.latents[index, variant].to(device, torch.float32)
        else:
            images = torch.stack(
                [
                    dihedral(load_image(self.records[i].image, size=self.size), int(k))
                    for i, k in zip(index, variant, strict=True)
                ]
            ).to(device, self.vae.dtype)
            with torch.no_grad():
                latents = (
                    self.vae.encode(images).latent_dist.sample() * self.vae.config.scaling_factor
                )
        return latents.float(), texts
