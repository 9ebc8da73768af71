"""Checks of a generation request that need no model: run before one is loaded.

Kept free of torch and diffusers so the CLI answers a bad prompt or number in
a second instead of after loading a model (``galaxysd generate``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from galaxysd_core.config import check_value
from galaxysd_core.errors import ConfigError, ImageReadError, ModelFolderError
from galaxysd_core.prompts import parse_weighted, split_composed

SCHEDULERS = ("euler_a", "dpmpp_2m", "ddim")

#: Training timesteps of every model here (diffusers' ``num_train_timesteps``).
TRAIN_TIMESTEPS = 1000


def check_guidance_interval(
    interval: Sequence[float] | None, name: str = "guidance_interval"
) -> tuple[float, float] | None:
    """Return a guidance interval as ``(low, high)`` timesteps, or None for "every step".

    Parameters
    ----------
    interval : sequence of two floats, or None
        Guidance acts on sampler steps whose timestep ``t`` has
        ``low <= t <= high`` (0 = clean, 1000 = pure noise); an empty
        sequence or None means every step.
    name : str, default "guidance_interval"
        The field, for the messages (``pag_interval`` takes the same form).

    Raises
    ------
    ConfigError
        Not two finite numbers with ``0 <= low < high <= 1000``.
    """
    if interval is None or len(interval) == 0:
        return None
    values = list(interval)
    if len(values) != 2 or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise ConfigError(f"{name} must be two timesteps LOW HIGH, got {interval!r}")
    low, high = float(values[0]), float(values[1])
    if not 0.0 <= low < high <= TRAIN_TIMESTEPS:
        raise ConfigError(
            f"{name} must have 0 <= LOW < HIGH <= {TRAIN_TIMESTEPS}, got {interval!r}"
        )
    return low, high


# Ning et al. (2024) divide by slightly more than 1; below 1 would add to the exposure bias.
EPS_SCALE_RANGE = (1.0, 1.1)
# Karras et al. (2024) find their best weights at about 1.5-3; 1 is off.
GUIDE_WEIGHT_RANGE = (1.0, 4.0)
# Ahn et al. (2024) use PAG scales of about 1-6 on SD; 0 is off. On the demo
# model 2 already draws grid artefacts (docs/generator-v2.md).
PAG_SCALE_RANGE = (0.0, 10.0)


def _number_in(value: float, name: str, bounds: tuple[float, float]) -> float:
    """Return ``value`` as a float if it is a number (not a bool) within ``bounds``."""
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def check_eps_scale(eps_scale: float) -> float:
    """Return ``eps_scale`` if it is a number in :data:`EPS_SCALE_RANGE`.

    Raises
    ------
    ConfigError
        Naming the value otherwise.
    """
    return _number_in(eps_scale, "eps_scale", EPS_SCALE_RANGE)


def check_guide_weight(weight: float) -> float:
    """Return an autoguidance weight if it is a number in :data:`GUIDE_WEIGHT_RANGE`.

    Raises
    ------
    ConfigError
        Naming the value otherwise.
    """
    return _number_in(weight, "guide_weight", GUIDE_WEIGHT_RANGE)


def check_pag_scale(scale: float) -> float:
    """Return a perturbed-attention guidance scale if it is a number in :data:`PAG_SCALE_RANGE`.

    Raises
    ------
    ConfigError
        Naming the value otherwise.
    """
    return _number_in(scale, "pag_scale", PAG_SCALE_RANGE)


def check_guide(
    guide_model: str | os.PathLike[str] | None,
    guide_weight: float,
    *,
    owner: str,
    model: str | os.PathLike[str] | None = None,
) -> Path | None:
    """Check an autoguidance request of a task config before any model is loaded.

    Parameters
    ----------
    guide_model : path-like or None
        The weaker model; None takes ``model``'s ``<name>-guide`` folder
        (:func:`galaxysd_core.paths.guide_for`) when the weight asks for one.
    guide_weight : float
    owner : str
        The config's name, for the messages.
    model : path-like, optional
        The main model, whose guide folder beside it may stand in.

    Returns
    -------
    Path or None
        The guide to load; None when autoguidance is off (weight 1).

    Raises
    ------
    ConfigError
        A weight outside :data:`GUIDE_WEIGHT_RANGE`, or a weight other than 1
        with no guide model given or beside ``model``.
    """
    from galaxysd_core.paths import GUIDE_SUFFIX, guide_for

    check_guide_weight(guide_weight)
    if guide_weight == 1.0:
        return None
    if guide_model is not None:
        # The folder itself is checked where it is loaded (after a job's paths
        # are confined to the workspace, which must come first).
        return Path(guide_model)
    guide = guide_for(model) if model is not None else None
    if guide is None:
        beside = (
            f" (no {Path(model).name}{GUIDE_SUFFIX} folder beside {Path(model).name})"
            if model is not None
            else ""
        )
        raise ConfigError(
            f"{owner}.guide_weight {guide_weight!r} needs a guide_model to steer away from{beside}"
        )
    return guide


def check_generation(
    n: int,
    steps: int,
    guidance: float,
    scheduler: str,
    strength: float,
    *,
    prompts: Sequence[str] = (),
    negative_prompt: str = "",
    reference: str | os.PathLike[str] | None = None,
    pool: str | os.PathLike[str] | None = None,
) -> None:
    """Refuse bad sampling arguments and malformed prompts, naming the value.

    Upper bounds come from ``config.MAX_VALUES`` (``generate.*``); NaN and
    infinity are refused everywhere.

    Raises
    ------
    ConfigError
        For a count, step number, guidance or strength out of range or not finite.
    PromptError
        For a malformed or too long prompt (see ``prompts.split_composed``).
    ImageReadError
        For a reference image that does not exist.
    """
    for name, value in (("n", n), ("steps", steps), ("guidance", guidance), ("strength", strength)):
        check_value("generate", name, value)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"n must be a positive integer, got {n!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    if not guidance >= 0:
        raise ConfigError(f"guidance must be >= 0, got {guidance!r}")
    if scheduler not in SCHEDULERS:
        raise ConfigError(f"unknown scheduler {scheduler!r}; choose one of {list(SCHEDULERS)}")
    if not 0.0 < strength <= 1.0:
        raise ConfigError(f"strength must be in (0, 1], got {strength!r}")
    for prompt in prompts:
        split_composed(prompt)
    parse_weighted(negative_prompt)
    if reference is not None and str(reference) == "auto":
        if pool is None:
            raise ConfigError("reference='auto' needs pool= (a prepared dataset folder)")
        if not (Path(pool) / "metadata.jsonl").is_file():
            raise ConfigError(f"pool {pool} is not a prepared dataset (no metadata.jsonl)")
    elif reference is not None and not Path(reference).is_file():
        raise ImageReadError(f"reference image {reference} does not exist")


def check_model_folder(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` if it is a readable diffusers pipeline folder.

    Raises
    ------
    ModelFolderError
        Missing, not a pipeline (no ``model_index.json``) or not readable.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFolderError(f"model folder {path} does not exist")
    if not path.is_dir() or not (path / "model_index.json").is_file():
        raise ModelFolderError(
            f"{path} is not a diffusers pipeline folder (no model_index.json); "
            "point to a folder saved with save_pretrained, e.g. assets/demo-model"
        )
    try:
        (path / "model_index.json").read_bytes()
        unreadable = [p for p in path.rglob("*") if not os.access(p, os.R_OK)]
    except OSError as exc:
        raise ModelFolderError(f"cannot read the model folder {path}: {exc.strerror}") from None
    if unreadable:
        raise ModelFolderError(
            f"cannot read {unreadable[0]} in the model folder {path} (permissions); "
            "make it readable or copy the model"
        )
    return path


#: The model card a build writes beside a pipeline (settings, timings, measurements).
MODEL_CARD = "galaxysd_model.json"
#: What a card's ``recommended_sampling`` may set: the Compose form's sampler settings.
RECOMMENDED_KEYS = (
    "steps",
    "guidance",
    "scheduler",
    "guidance_interval",
    "pag_scale",
    "pag_interval",
    "why",
)


def recommended_settings(model: str | os.PathLike[str]) -> dict | None:
    """Return the sampler settings a model's card recommends, or None if it names none.

    A card's ``recommended_sampling`` holds what was measured best for that
    model (the demo model's: more steps, classifier-free guidance on the late
    steps and perturbed-attention guidance on the early ones),
    so a model can carry its own operating point while the app's defaults
    stay the paper's, the only ones measured for real SD-1.5 weights.

    Parameters
    ----------
    model : path-like
        A pipeline folder; one without a card (real SD-1.5 weights) has no
        recommendation.

    Returns
    -------
    dict or None
        Keys from :data:`RECOMMENDED_KEYS`: ``steps`` (int), ``guidance``
        (float), ``scheduler``, ``guidance_interval`` and ``pag_interval``
        (``[low, high]`` or None for every step), ``pag_scale`` (float) and
        ``why`` (one sentence for the user).

    Raises
    ------
    ConfigError
        An unreadable card, or a recommendation with an unknown key or a
        value out of range, named with the model.
    """
    card = Path(model) / MODEL_CARD
    if not card.is_file():
        return None
    where = f"{card}: recommended_sampling"
    try:
        settings = json.loads(card.read_text()).get("recommended_sampling")
    except (OSError, ValueError, AttributeError) as exc:
        raise ConfigError(f"cannot read the model card {card}: {exc}") from None
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise ConfigError(f"{where} must be a mapping, got {settings!r}")
    unknown = sorted(set(settings) - set(RECOMMENDED_KEYS))
    if unknown:
        raise ConfigError(f"{where} has unknown key {unknown[0]!r}")
    out = dict(settings)
    if "steps" in out:
        steps = out["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 1000:
            raise ConfigError(f"{where}.steps must be a whole number in [1, 1000], got {steps!r}")
    if "guidance" in out:
        out["guidance"] = _number_in(out["guidance"], f"{where}.guidance", (1.0, 30.0))
    if "scheduler" in out and out["scheduler"] not in SCHEDULERS:
        raise ConfigError(
            f"{where}.scheduler must be one of {SCHEDULERS}, got {out['scheduler']!r}"
        )
    if "pag_scale" in out:
        out["pag_scale"] = _number_in(out["pag_scale"], f"{where}.pag_scale", PAG_SCALE_RANGE)
    for key in ("guidance_interval", "pag_interval"):
        if key in out:
            try:
                interval = check_guidance_interval(out[key], key)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            out[key] = None if interval is None else list(interval)
    return out
