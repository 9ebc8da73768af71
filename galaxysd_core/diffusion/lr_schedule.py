"""Learning-rate schedules of a fine-tuning run, stepped once per optimiser step."""

from __future__ import annotations

import math

import torch

from galaxysd_core.diffusion.config import SCHEDULES, Schedule
from galaxysd_core.errors import ConfigError

__all__ = ["SCHEDULES", "Schedule", "make_lr_scheduler", "one_cycle_factor"]


def one_cycle_factor(step: int, *, warmup_steps: int, steps: int) -> float:
    """The authors' one-cycle LR multiplier at ``step``.

    As torch's ``OneCycleLR`` with linear warm-up: from 1/25 of the LR up to the
    LR over ``warmup_steps``, then cosine annealing to 1e-4 of it at ``steps``
    (held there after). Written as a plain function so any step count works,
    even 1.
    """
    if step < warmup_steps:
        return 0.04 + 0.96 * step / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, steps - warmup_steps))
    return 1e-4 + (1 - 1e-4) * 0.5 * (1 + math.cos(math.pi * progress))


def make_lr_scheduler(
    optimizer: torch.optim.Optimizer, schedule: Schedule, *, warmup_steps: int, steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The LR scheduler of a run.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    schedule : {"one_cycle", "cosine", "constant"}
        ``"one_cycle"``: :func:`one_cycle_factor`; ``"cosine"`` and
        ``"constant"``: diffusers' schedules with linear warm-up.
    warmup_steps, steps : int
        Warm-up length and the run's total optimiser steps.

    Returns
    -------
    torch.optim.lr_scheduler.LRScheduler
        Its state dict goes into each checkpoint, so a resumed run continues it.

    Raises
    ------
    ValueError
        For a schedule not in :data:`SCHEDULES`.
    """
    from diffusers.optimization import (
        get_constant_schedule_with_warmup,
        get_cosine_schedule_with_warmup,
    )

    if schedule == "one_cycle":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: one_cycle_factor(step, warmup_steps=warmup_steps, steps=steps)
        )
    if schedule == "cosine":
        return get_cosine_schedule_with_warmup(optimizer, warmup_steps, steps)
    if schedule == "constant":
        return get_constant_schedule_with_warmup(optimizer, warmup_steps)
    raise ConfigError(f"unknown LR schedule {schedule!r}; use one of {SCHEDULES}")
