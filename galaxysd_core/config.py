"""The base of every task's typed configuration.

Each long task (sky, prepare, finetune, ...) has a dataclass deriving from
:class:`TaskConfig` with documented defaults. The CLI and the app both build it,
``validate()`` checks it at the boundary, and the job runner saves it as
``runs/<id>/config.json`` so every run describes itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Self

from galaxysd_core.atomic import atomic_write_json
from galaxysd_core.errors import ConfigError

#: ``str`` fields that hold a path (``Path`` fields are recognised by their type).
STR_PATH_FIELDS = frozenset({"sky", "model", "synthetic_dir", "output_dir", "resume"})
#: Path fields that must lie in the workspace: written to, or loaded as
#: training state. Other path fields are only read and may also name the
#: folders of ``paths.read_roots()`` (assets, reference data, $GALAXYSD_DATA_DIRS).
WORKSPACE_ONLY_FIELDS = frozenset({"out", "output_dir", "resume"})
#: Upper bounds of counts, sizes, steps and scales, by ``Owner.field`` (a config
#: class, or ``generate`` for the sampler's arguments): (largest value, why).
#: The one home of these limits: ``TaskConfig.from_dict`` and the sampler check
#: them, the Training form shows them. A sequence field bounds each element.
MAX_VALUES: dict[str, tuple[float, str]] = {
    "generate.n": (1000, "images per prompt in one call; all are held in memory"),
    "generate.steps": (1000, "sampler steps; the noise schedule has 1,000 timesteps"),
    "generate.guidance": (30.0, "guidance scale; the paper uses 6.5-7.5, images saturate past 30"),
    "generate.strength": (1.0, "reference noise level; 1 ignores the reference"),
    "SkyConfig.n": (1_000_000, "galaxies; 4x the GZ2 catalogue, held in memory while rendering"),
    "SkyConfig.size": (2048, "image side in px; GZ2 cutouts are 424"),
    "SkyConfig.workers": (64, "rendering processes"),
    "PrepareConfig.max_per_tag": (1_000_000, "images per tag"),
    "FinetuneConfig.steps": (1_000_000, "optimiser steps"),
    "FinetuneConfig.batch": (1024, "images per batch and process; more does not fit in memory"),
    "FinetuneConfig.grad_accum": (1024, "micro-batches per step"),
    "FinetuneConfig.lr": (1.0, "learning rate; above 1 training diverges"),
    "FinetuneConfig.checkpoint_every": (1_000_000, "steps between checkpoints"),
    "FinetuneConfig.keep_last": (1000, "checkpoints kept"),
    "FinetuneConfig.validation_steps": (1000, "sampler steps of the validation images"),
    "FinetuneConfig.tag_weights": (1000.0, "draw weight of a tag"),
    "FinetuneConfig.num_processes": (64, "training processes"),
    "DemoBuildConfig.n": (1_000_000, "galaxies in the mock sky"),
    "DemoBuildConfig.vae_steps": (1_000_000, "VAE steps"),
    "DemoBuildConfig.vae_batch": (1024, "VAE batch; more does not fit in memory"),
    "DemoBuildConfig.steps": (1_000_000, "UNet steps"),
    "DemoBuildConfig.batch": (1024, "UNet batch; more does not fit in memory"),
    "DemoBuildConfig.decoder_steps": (1_000_000, "decoder steps"),
    "DemoBuildConfig.lr": (1.0, "learning rate; above 1 training diverges"),
    "DemoBuildConfig.vae_lr": (1.0, "learning rate; above 1 training diverges"),
    "SimCLRConfig.steps": (1_000_000, "optimiser steps"),
    "SimCLRConfig.batch_size": (4096, "images per batch; more does not fit in memory"),
    "SimCLRConfig.image_size": (512, "image side in px"),
    "SimCLRConfig.lr": (1.0, "learning rate; above 1 training diverges"),
    "SimCLRConfig.max_images": (1_000_000, "training images held in memory"),
    "MapConfig.max_real": (100_000, "real images on the map"),
    "MapConfig.batch_size": (4096, "images per encoder batch"),
    "FeatureClassifierConfig.image_size": (512, "image side in px"),
    "FeatureClassifierConfig.epochs": (1000, "training epochs"),
    "FeatureClassifierConfig.batch_size": (4096, "images per batch; more does not fit in memory"),
    "FeatureClassifierConfig.lr": (1.0, "learning rate; above 1 training diverges"),
    "EvaluateConfig.n_images": (10_000, "generated images per setting"),
    "EvaluateConfig.steps": (1000, "sampler steps; the noise schedule has 1,000 timesteps"),
    "EvaluateConfig.guidance": (30.0, "guidance scale; images saturate past 30"),
    "EvaluateConfig.sweep_guidance": (30.0, "guidance scale; images saturate past 30"),
    "EvaluateConfig.sweep_steps": (1000, "sampler steps; the noise schedule has 1,000 timesteps"),
    "EvaluateConfig.strength": (1.0, "reference noise level; 1 ignores the reference"),
    "EvaluateConfig.sweep_strength": (1.0, "reference noise level; 1 ignores the reference"),
    "EvaluateConfig.sweep_weight": (5.0, "prompt weight; the prompt syntax allows [0, 5]"),
    "EvaluateConfig.max_real": (100_000, "real images compared"),
    "EvaluateConfig.max_checkpoints": (1000, "checkpoints evaluated"),
    "ExperimentConfig.n_negatives": (1_000_000, "negatives at scale 1"),
    "ExperimentConfig.n_synthetic": (100_000, "synthetic positives at scale 1"),
    "ExperimentConfig.steps": (1000, "sampler steps; the noise schedule has 1,000 timesteps"),
    "ExperimentConfig.guidance": (30.0, "guidance scale; images saturate past 30"),
    "ExperimentConfig.image_size": (512, "image side in px"),
    "ExperimentConfig.epochs": (1000, "training epochs"),
    "ExperimentConfig.batch_size": (4096, "images per batch; more does not fit in memory"),
    "ExperimentConfig.lr": (1.0, "learning rate; above 1 training diverges"),
    "ExperimentConfig.n_boot": (100_000, "bootstrap resamples"),
    "ExperimentConfig.scale": (1.0, "share of the paper's sizes"),
    "RoundConfig.n_synthetic": (100_000, "synthetic positives"),
    "RoundConfig.n_negatives": (1_000_000, "negatives"),
    "RoundConfig.top_k": (100_000, "candidates sent to review"),
    "RoundConfig.steps": (1000, "sampler steps; the noise schedule has 1,000 timesteps"),
    "RoundConfig.guidance": (30.0, "guidance scale; images saturate past 30"),
    "RoundConfig.image_size": (512, "image side in px"),
    "RoundConfig.epochs": (1000, "training epochs"),
    "RoundConfig.batch_size": (4096, "images per batch; more does not fit in memory"),
    "RoundConfig.score_batch_size": (65_536, "images per scoring batch"),
    "RoundConfig.chunk_size": (1_000_000, "catalogue rows per scoring chunk"),
    "RoundConfig.score_processes": (64, "scoring processes"),
    "RoundConfig.lr": (1.0, "learning rate; above 1 training diverges"),
}

#: ``resume`` values that are not paths: the newest checkpoint, or one by name.
_RESUME_WORDS = re.compile(r"latest|checkpoint-\d+")


@dataclasses.dataclass
class TaskConfig:
    """Typed, validated, JSON-round-trippable task configuration.

    Subclasses set ``kind`` (the CLI sub-command and job kind) and override
    :meth:`validate`, raising :class:`~galaxysd_core.errors.ConfigError` that
    names the bad field and value.
    """

    kind: ClassVar[str] = ""

    def validate(self) -> None:
        """Raise ``ConfigError`` if a field has a bad value. The base accepts all."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build and validate a config from a plain dict (e.g. parsed JSON).

        Parameters
        ----------
        data : dict
            Field values; missing fields take their defaults.

        Returns
        -------
        TaskConfig
            The validated config.

        Raises
        ------
        ConfigError
            On unknown keys, missing required fields or values of the wrong type.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown field(s) {unknown}; known: {sorted(fields)}"
            )
        hints = typing.get_type_hints(cls)
        values = {
            name: _coerce(cls.__name__, name, hints[name], value) for name, value in data.items()
        }
        try:
            config = cls(**values)
        except TypeError as exc:  # a required field is missing
            raise ConfigError(f"{cls.__name__}: {exc}") from exc
        config.check_numbers()
        config.validate()
        return config

    def check_numbers(self) -> None:
        """Refuse NaN and infinite floats in any field, and values over :data:`MAX_VALUES`.

        Raises
        ------
        ConfigError
            Naming the field, the value and the bound with its reason.
        """
        owner = type(self).__name__
        for f in dataclasses.fields(self):
            check_value(owner, f.name, getattr(self, f.name))

    @classmethod
    def path_fields(cls) -> list[str]:
        """The fields that hold paths: ``Path``-typed ones and :data:`STR_PATH_FIELDS`."""
        hints = typing.get_type_hints(cls)
        return [
            f.name
            for f in dataclasses.fields(cls)
            if f.init and (_holds_path(hints[f.name]) or f.name in STR_PATH_FIELDS)
        ]

    def confined(self, workspace: str | os.PathLike[str]) -> Self:
        """A copy whose path fields are resolved in ``workspace``; refused if one leaves it.

        The app and ``galaxysd jobs launch`` pass every config through this:
        relative paths are workspace-relative, and ``..``, ``~`` or a symbolic
        link cannot lead out (``paths.resolve_in_workspace``). Paths that are
        only read may also name the bundled ``assets/``, the shared reference
        data or a folder of ``$GALAXYSD_DATA_DIRS`` (``paths.read_roots``); written ones (:data:`WORKSPACE_ONLY_FIELDS`) and an SQLite
        ``db_url`` must lie in the workspace.

        Raises
        ------
        OutsideWorkspaceError
            Naming the first field whose path leaves the workspace.
        """
        from galaxysd_core.paths import read_roots, resolve_in_workspace

        owner = type(self).__name__
        values = self.to_dict()
        for name in self.path_fields():
            value = values[name]
            if value is None or (name == "resume" and _RESUME_WORDS.fullmatch(str(value))):
                continue
            roots = () if name in WORKSPACE_ONLY_FIELDS else read_roots()
            many = isinstance(value, list)
            resolved = [
                str(resolve_in_workspace(v, workspace, field=f"{owner}.{name}", read_roots=roots))
                for v in (value if many else [value])
            ]
            values[name] = resolved if many else resolved[0]
        url = values.get("db_url")
        if isinstance(url, str) and url.startswith("sqlite:///"):
            where = resolve_in_workspace(
                url[len("sqlite:///") :], workspace, field=f"{owner}.db_url"
            )
            values["db_url"] = f"sqlite:///{where}"
        return type(self).from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as JSON-safe plain data (paths become strings)."""
        return {k: _plain(v) for k, v in dataclasses.asdict(self).items()}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the config as JSON atomically."""
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read and validate a config saved by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


def check_value(owner: str, name: str, value: Any) -> None:
    """Refuse a NaN or infinite number, or one over the bound of ``owner.name``.

    Sequences and mappings are checked element by element (sweeps, tag
    weights). The lower bounds stay in each ``validate()``, next to the rule.

    Parameters
    ----------
    owner : str
        The config class name, or ``generate`` for the sampler's arguments.
    name : str
        The field.
    value : object
        Its value; non-numbers are left to ``validate()``.

    Raises
    ------
    ConfigError
        ``"SkyConfig.n: at most 1000000 (galaxies; ...), got 10000000"``.
    """
    if isinstance(value, dict):
        values = list(value.values())
    elif isinstance(value, list | tuple):
        values = list(value)
    else:
        values = [value]
    bound = MAX_VALUES.get(f"{owner}.{name}")
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int | float):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            raise ConfigError(f"{owner}.{name}: need a finite number, got {item!r}")
        if bound is not None and item > bound[0]:
            raise ConfigError(
                f"{owner}.{name}: at most {format_bound(bound[0])} ({bound[1]}), got {item!r}"
            )


def format_bound(value: float) -> str:
    """A bound as people write it: ``1,000,000``, ``30``, ``0.5``."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def max_value(owner: str, name: str) -> tuple[float, str] | None:
    """The upper bound of ``owner.name`` and its reason, or None (for forms and help texts)."""
    return MAX_VALUES.get(f"{owner}.{name}")


def _holds_path(hint: Any) -> bool:
    """Whether a type hint is ``Path``, ``Path | None`` or a tuple/list of paths."""
    if hint is Path:
        return True
    return any(_holds_path(arg) for arg in typing.get_args(hint) if arg is not Ellipsis)


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _coerce(owner: str, name: str, hint: Any, value: Any) -> Any:
    """Convert JSON values to the annotated type where that is lossless."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _coerce(owner, name, args[0], value)
    if hint is Path:
        return Path(value)
    if origin in (tuple, list) and isinstance(value, list | tuple):
        return origin(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"{owner}.{name}: expected {hint.__name__}, got {value!r}")
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"{owner}.{name}: expected int, got {value!r}")
    return value
