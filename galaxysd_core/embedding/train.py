"""SimCLR training as a job: checkpoints, retention, resume, progress (Sec. 4.1).

Each step draws ``batch_size`` galaxies, makes two random views of each
(:func:`~galaxysd_core.embedding.model.galaxy_views`) and minimises NT-Xent
between their projections. Checkpoints (``checkpoints/checkpoint-N``) hold
the encoder folder plus the optimiser and the step, written atomically; the
finished encoder goes to ``<output_dir>/encoder``.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from galaxysd_core import __version__
from galaxysd_core.atomic import atomic_dir
from galaxysd_core.embedding.config import SimCLRConfig
from galaxysd_core.embedding.model import (
    Encoder,
    EncoderSpec,
    galaxy_views,
    load_encoder,
    nt_xent,
    save_encoder,
    write_encoder,
)
from galaxysd_core.errors import ConfigError, ImageReadError
from galaxysd_core.progress import Progress, run_folder

log = logging.getLogger(__name__)


def spec_of(config: SimCLRConfig) -> EncoderSpec:
    """The encoder architecture a config asks for."""
    return EncoderSpec(
        image_size=config.image_size,
        depths=list(config.depths),
        hidden_sizes=list(config.hidden_sizes),
        embedding_size=config.embedding_size,
        projection_dim=config.projection_dim,
    )


def lr_at(step: int, config: SimCLRConfig) -> float:
    """Learning rate of optimiser step ``step`` (0-based): warm-up, then flat or cosine.

    A function of the step alone, so a resumed run follows the same schedule.
    """
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if not config.cosine:
        return config.lr
    span = max(config.steps - config.warmup_steps, 1)
    done = min((step - config.warmup_steps) / span, 1.0)
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * done))


def _checkpoints(output_dir: Path) -> list[Path]:
    folder = output_dir / "checkpoints"
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def _save_checkpoint(
    encoder: Encoder, opt: torch.optim.Optimizer, step: int, config: SimCLRConfig, out: Path
) -> None:
    with atomic_dir(out / "checkpoints" / f"checkpoint-{step}", overwrite=True) as tmp:
        write_encoder(encoder, tmp, extra={"step": step, "version": __version__})
        torch.save(opt.state_dict(), tmp / "optimizer.pt")
        state = {"step": step, "config": config.to_dict(), "version": __version__}
        (tmp / "state.json").write_text(json.dumps(state, indent=2) + "\n")
    for old in _checkpoints(out)[: -config.keep_checkpoints]:
        shutil.rmtree(old, ignore_errors=True)


def _resume_from(config: SimCLRConfig, out: Path) -> Path | None:
    if config.resume is None:
        return None
    if config.resume == "latest":
        found = _checkpoints(out)
        if not found:
            log.info("resume=latest but no checkpoint in %s; starting fresh", out)
            return None
        return found[-1]
    path = Path(config.resume)
    if not (path / "state.json").is_file():
        raise ConfigError(f"SimCLRConfig.resume: {path} is not a checkpoint folder")
    return path


def train_simclr(config: SimCLRConfig, *, progress: Progress | None = None) -> Path:
    """Train a SimCLR encoder and save it to ``<output_dir>/encoder``.

    Parameters
    ----------
    config : SimCLRConfig
        What to train on and how.
    progress : Progress, optional
        Receives ``update(step, steps, loss=...)``; a stop request saves a
        checkpoint and raises ``Cancelled``.

    Returns
    -------
    Path
        The encoder folder (load it with :func:`load_encoder`).

    Raises
    ------
    ConfigError
        If no output folder is given or ``resume`` names no checkpoint.
    ImageReadError
        If the data folder holds fewer than 2 readable images.
    """
    from galaxysd_core.images import image_files, load_images

    progress = progress or Progress()
    config.validate()
    out = run_folder(config.output_dir)
    if out is None:
        raise ConfigError("SimCLRConfig.output_dir: give a folder for checkpoints and the encoder")
    out = Path(out)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    paths = image_files(config.data, require=True)
    if config.max_images is not None and len(paths) > config.max_images:
        keep = np.random.default_rng(config.seed).choice(
            len(paths), config.max_images, replace=False
        )
        paths = [paths[i] for i in sorted(keep)]
    images, _ = load_images(paths, config.image_size)
    if images.shape[0] < 2:
        raise ImageReadError(f"need at least 2 images to contrast, found {images.shape[0]}")
    batch = min(config.batch_size, images.shape[0])
    log.info("SimCLR on %d images of %s, batch %d", images.shape[0], config.data, batch)

    start = 0
    ckpt = _resume_from(config, out)
    if ckpt:
        encoder = load_encoder(ckpt)
    elif config.init is not None:  # fine-tune: backbone and projection head as saved
        encoder = load_encoder(config.init)
        log.info("starting from the encoder in %s", config.init)
    else:
        encoder = Encoder(spec_of(config))
    encoder = encoder.to(config.device).train()
    opt = torch.optim.Adam(encoder.parameters(), lr=config.lr)
    if ckpt:
        opt.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
        start = json.loads((ckpt / "state.json").read_text())["step"]
        gen.manual_seed(config.seed + start)  # a fresh, reproducible stream after resuming
        log.info("resumed from %s at step %d", ckpt, start)

    t0 = time.monotonic()
    step = start
    while step < config.steps:
        idx = torch.randint(images.shape[0], (batch,), generator=gen)
        x = images[idx].float() / 255.0
        v1 = galaxy_views(x, generator=gen, randomise=config.randomise)
        v2 = galaxy_views(x, generator=gen, randomise=config.randomise)
        views = encoder.scale(torch.cat([v1, v2]).to(config.device))
        z = encoder.project(encoder(views))
        loss = nt_xent(z[:batch], z[batch:], temperature=config.temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for group in opt.param_groups:
            group["lr"] = lr_at(step, config)
        opt.step()
        step += 1
        progress.update(step, config.steps, loss=round(float(loss.detach()), 4))
        if step % config.save_every == 0:
            _save_checkpoint(encoder, opt, step, config, out)
        if progress.should_stop():
            _save_checkpoint(encoder, opt, step, config, out)
            progress.check_stop()
        if config.time_limit_s is not None and time.monotonic() - t0 > config.time_limit_s:
            log.info("time limit %.0f s reached at step %d", config.time_limit_s, step)
            break
    _save_checkpoint(encoder, opt, step, config, out)
    extra = {"step": step, "images": int(images.shape[0]), "data": str(config.data)}
    extra |= {"init": str(config.init) if config.init else None, "randomise": config.randomise}
    extra["version"] = __version__
    return save_encoder(encoder.eval(), out / "encoder", half=config.half, extra=extra)
