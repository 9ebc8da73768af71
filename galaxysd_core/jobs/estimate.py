"""What a job will cost before it is launched: images, steps, minutes on this machine.

Each kind's config is turned into units of work (sampler image-steps, training
image-epochs, rendered or embedded images, optimiser image-steps). Default
seconds per unit were measured with the bundled demo model and small skies on
a shared 2-core machine; once jobs of a kind have succeeded in this workspace,
their real durations rescale the estimate (the median ratio of actual to
predicted time), so "minutes" means minutes on this machine.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galaxysd_core.config import TaskConfig
from galaxysd_core.jobs import store
from galaxysd_core.paths import Workspace

log = logging.getLogger(__name__)

#: Seconds per unit of work, demo model / 64 px skies on 2 busy cores (see module notes).
DEFAULT_RATES = {
    "sample": 0.03,  # one sampler step of one 128 px demo-model image
    "train": 0.02,  # one image through a classifier, forward and backward
    "render": 0.01,  # one 64 px mock-sky galaxy rendered and written
    "embed": 0.02,  # one image through the SimCLR encoder, plus its share of UMAP
    "optim": 0.05,  # one image in one demo-build optimiser step
}
_START_S = 20.0  # imports, model loading, writing results: paid once per job


@dataclass(frozen=True)
class Estimate:
    """The cost of one job.

    Attributes
    ----------
    images : int
        Images the job generates, renders, embeds or trains on (per epoch, summed).
    steps : int
        Sampler or optimiser steps in all.
    minutes : float
        Expected wall time on this machine.
    calibrated_by : int
        Past succeeded jobs of this kind that rescaled the default rates (0: defaults).
    """

    images: int
    steps: int
    minutes: float
    calibrated_by: int

    def describe(self) -> str:
        """One line for a form: ``Estimated: 3 min for 128 images, 2,560 steps (...)``."""
        basis = (
            f"calibrated on {self.calibrated_by} past run(s) here"
            if self.calibrated_by
            else "default rates; no run of this kind here yet"
        )
        steps = f", {self.steps:,} steps" if self.steps else ""
        return f"Estimated: {_minutes(self.minutes)} for {self.images:,} images{steps} ({basis})."


def _minutes(value: float) -> str:
    if value < 1:
        return "under a minute"
    if value < 90:
        return f"{math.ceil(value)} min"
    return f"{value / 60:.1f} h"


def _model_scale(folder: Any) -> float:
    """Pixels of the model's images relative to the demo model's 128 px (1 if unknown)."""
    if not folder:
        return 1.0
    root = Path(folder)
    for config in (root / "unet" / "config.json", *root.glob("*/*/unet/config.json")):
        try:
            size = json.loads(config.read_text())["sample_size"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        return (int(size) / 16) ** 2
    return 1.0


#: Sampler work with autoguidance relative to without: one more UNet pass per
#: step at half the width (``benchmarks/generate.py``: 4 images, 30 steps,
#: 2.00 s against 1.32 s on 2 cores).
GUIDE_COST = 1.5


def _guide_cost(cfg: Any) -> float:
    """:data:`GUIDE_COST` when the config asks for autoguidance, else 1."""
    return GUIDE_COST if getattr(cfg, "guide_weight", 1.0) != 1.0 else 1.0


def _units(kind: str, cfg: Any) -> tuple[int, int, dict[str, float]]:
    """``(images, steps, {unit: amount})`` of one config; unknown kinds cost nothing known."""
    if kind == "evaluate":
        run = Path(cfg.run or ".")
        found = [*run.glob("checkpoint-*"), *run.glob("checkpoints/checkpoint-*")]
        ckpts = min(cfg.max_checkpoints, max(1, len(found)))
        per = len(cfg.prompts) * cfg.n_images * ckpts
        text = per if "text" in cfg.modes else 0
        ref = per if "reference" in cfg.modes else 0
        if cfg.sweep:
            arms = sum(len(getattr(cfg, f"sweep_{k}")) for k in ("guidance", "strength", "steps"))
            text += len(cfg.sweep_prompts) * cfg.n_images * (arms + len(cfg.sweep_weight))
        steps = text * cfg.steps + round(ref * cfg.steps * cfg.strength)
        return text + ref, steps, {"sample": steps * _model_scale(cfg.run) * _guide_cost(cfg)}
    if kind == "map":
        images = cfg.max_real + 64 * len(cfg.generated)
        return images, 0, {"embed": images}
    if kind in ("classify-experiment", "discover-round"):
        if kind == "classify-experiment":
            neg, pos, syn = cfg.sizes()
            runs = len(cfg.seeds) * len(cfg.arms)
            made = syn if "synthetic" in cfg.arms and cfg.synthetic_dir is None else 0
        else:
            neg, pos, syn, runs = cfg.n_negatives, cfg.top_k, cfg.n_synthetic, 1
            made = syn if cfg.synthetic_dir is None else 0
            if cfg.accepted_share < 1:  # accepted positives repeated up to their share
                pos += round(syn * cfg.accepted_share / (1 - cfg.accepted_share))
        trained = (neg + pos + syn) * cfg.classifier.epochs * runs
        steps = made * cfg.steps
        sample = steps * _model_scale(cfg.model) * _guide_cost(cfg)
        return made + trained, steps, {"train": trained, "sample": sample}
    if kind == "demo-build":
        steps = cfg.vae_steps + cfg.steps + cfg.decoder_steps
        return cfg.n, steps, {"render": cfg.n, "optim": steps * cfg.batch}
    if kind == "demo-guide":
        # The sky is rendered only without ``sky``; a half-width UNet's step
        # costs far less than the demo model's, but the rate is calibrated on use.
        rendered = 0 if cfg.sky else cfg.n
        return cfg.n, cfg.steps, {"render": rendered, "optim": cfg.steps * cfg.batch}
    if kind == "sky":
        return cfg.n, 0, {"render": cfg.n * (cfg.size / 64) ** 2}
    if kind == "quiz-pool":
        return cfg.questions, cfg.questions * cfg.steps, {"sample": cfg.questions * cfg.steps}
    return 0, 0, {}


def _predicted_s(work: dict[str, float]) -> float:
    return _START_S + sum(DEFAULT_RATES[unit] * amount for unit, amount in work.items())


def _history(kind: str, ws: Workspace) -> list[float]:
    """Actual / predicted wall time of this kind's succeeded jobs in ``ws``."""
    from galaxysd_core.jobs.runner import CONFIG_FILE, validate_config

    ratios = []
    engine = store.engine_for(ws)
    for row in store.rows(engine, statuses=(store.SUCCEEDED,), ws=ws):
        if row["kind"] != kind or not row["started_at"] or not row["ended_at"]:
            continue
        try:
            saved = json.loads((Path(row["run_dir"]) / CONFIG_FILE).read_text())
            work = _units(kind, validate_config(kind, saved))[2]
        except (OSError, ValueError):
            continue  # a config from an older version: no basis for calibration
        took = (row["ended_at"] - row["started_at"]).total_seconds()
        if work and took > 0:
            ratios.append(took / _predicted_s(work))
    return ratios[-10:]


def estimate(
    kind: str, config: TaskConfig, *, workspace: Workspace | None = None
) -> Estimate | None:
    """The expected cost of a job of ``kind`` with ``config``; None when unknown.

    Parameters
    ----------
    kind : str
        A job kind (``evaluate``, ``map``, ``classify-experiment``, ``discover-round``,
        ``demo-build``, ``demo-guide``, ``sky``, ``quiz-pool`` are estimated; others
        give None).
    config : TaskConfig
        A validated config of that kind.
    workspace : Workspace, optional
        Whose past jobs calibrate the rates (default ``$GALAXYSD_HOME``).

    Returns
    -------
    Estimate or None
    """
    images, steps, work = _units(kind, config)
    if not work:
        return None
    ratios = _history(kind, store.resolve_workspace(workspace))
    scale = statistics.median(ratios) if ratios else 1.0
    return Estimate(images, steps, _predicted_s(work) * scale / 60, len(ratios))
