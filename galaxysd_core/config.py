"""The base of every task's typed configuration.

Each long task (sky, prepare, finetune, ...) has a dataclass deriving from
:class:`TaskConfig` with documented defaults. The CLI and the app both build it,
``validate()`` checks it at the boundary, and the job runner saves it as
``runs/<id>/config.json`` so every run describes itself.

A field may itself be a ``TaskConfig`` (e.g. ``ExperimentConfig.classifier``):
it is a JSON object in the saved file, validated with its owner, and errors name
its dotted path (``ExperimentConfig.classifier.epochs``). :func:`field_specs`
describes every field, nested ones by dotted name, for the command line
(``galaxysd_core.cli.add_config_arguments``) and the launch form
(``galaxysd_core.jobs.forms``).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
import re
import types
import typing
from dataclasses import dataclass
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
    "DemoBuildConfig.unet_processes": (64, "UNet training processes"),
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
    "ClassifierConfig.image_size": (512, "image side in px"),
    "ClassifierConfig.epochs": (1000, "training epochs"),
    "ClassifierConfig.batch_size": (4096, "images per batch; more does not fit in memory"),
    "ClassifierConfig.lr": (1.0, "learning rate; above 1 training diverges"),
    "ExperimentConfig.n_negatives": (1_000_000, "negatives at scale 1"),
    "ExperimentConfig.n_synthetic": (100_000, "synthetic positives at scale 1"),
    "ExperimentConfig.steps": (1000, "sampler steps; the noise schedule has 1,000 timesteps"),
    "ExperimentConfig.guidance": (30.0, "guidance scale; images saturate past 30"),
    "ExperimentConfig.n_boot": (100_000, "bootstrap resamples"),
    "ExperimentConfig.scale": (1.0, "share of the paper's sizes"),
    "RoundConfig.n_synthetic": (100_000, "synthetic positives"),
    "RoundConfig.n_negatives": (1_000_000, "negatives"),
    "RoundConfig.top_k": (100_000, "candidates sent to review"),
    "RoundConfig.steps": (1000, "sampler steps; the noise schedule has 1,000 timesteps"),
    "RoundConfig.guidance": (30.0, "guidance scale; images saturate past 30"),
    "RoundConfig.score_batch_size": (65_536, "images per scoring batch"),
    "RoundConfig.chunk_size": (1_000_000, "catalogue rows per scoring chunk"),
    "RoundConfig.score_processes": (64, "scoring processes"),
}

#: ``resume`` values that are not paths: the newest checkpoint, or one by name.
_RESUME_WORDS = re.compile(r"latest|checkpoint-\d+")


@dataclasses.dataclass
class TaskConfig:
    """Typed, validated, JSON-round-trippable task configuration.

    Subclasses set ``kind`` (the CLI sub-command and job kind) and override
    :meth:`validate`, raising :class:`~galaxysd_core.errors.ConfigError` that
    names the bad field and value. ``aliases`` maps a former flat field name
    to the dotted path that now holds it (``{"epochs": "classifier.epochs"}``),
    so configs saved before a field moved still load and the old flag still
    works.
    """

    kind: ClassVar[str] = ""
    aliases: ClassVar[dict[str, str]] = {}

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
        return cls._build(data, cls.__name__)

    @classmethod
    def _build(cls, data: dict[str, Any], path: str) -> Self:
        """:meth:`from_dict` for the config at dotted ``path`` (its errors name it)."""
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping, got {type(data).__name__}")
        data = _unalias(cls, nest_dotted(data), path)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(f"{path}: unknown field(s) {unknown}; known: {sorted(fields)}")
        hints = typing.get_type_hints(cls)
        for name, value in data.items():
            # A nested config given in part keeps its owner's defaults for the rest
            # (ExperimentConfig's classifier trains 10 epochs, ClassifierConfig's 20).
            default = _default(fields[name])
            if isinstance(default, TaskConfig) and isinstance(value, dict):
                data = {**data, name: {**default.to_dict(), **nest_dotted(value)}}
        values = {name: _coerce(path, name, hints[name], value) for name, value in data.items()}
        missing = [
            n for n, f in fields.items() if n not in values and _default(f) is dataclasses.MISSING
        ]
        if missing:
            raise ConfigError(f"{path}: missing required field(s) {missing}")
        config = cls(**values)
        config.validate_all(path)
        return config

    def validate_all(self, path: str | None = None) -> None:
        """Validate nested configs first, then this one.

        Parameters
        ----------
        path : str, optional
            Where this config sits (``ExperimentConfig.classifier``); errors
            name it. Default: the class name.

        Raises
        ------
        ConfigError
            Naming the dotted path of the first bad field.
        """
        path = path or type(self).__name__
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, TaskConfig):
                value.validate_all(f"{path}.{f.name}")
        try:
            self.check_numbers()
            self.validate()
        except ConfigError as exc:
            # validate() names the class ("ClassifierConfig.epochs"); a nested
            # config reports where it sits ("ExperimentConfig.classifier.epochs").
            own = type(self).__name__
            text = str(exc)
            if path != own and text.startswith(own):
                raise ConfigError(path + text[len(own) :]) from exc
            raise

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


def _default(f: dataclasses.Field) -> Any:
    """A field's default value (``dataclasses.MISSING`` when it has none)."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def nest_dotted(values: dict[str, Any]) -> dict[str, Any]:
    """``{"classifier.epochs": 3}`` -> ``{"classifier": {"epochs": 3}}`` (other keys kept).

    Raises
    ------
    ConfigError
        If a dotted key lies below a key whose value is not a mapping.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        *heads, last = key.split(".")
        inner = out
        for head in heads:
            inner = inner.setdefault(head, {})
            if not isinstance(inner, dict):
                raise ConfigError(f"{key}: {head!r} is given as a value, not a mapping")
        inner[last] = value
    return out


def _unalias(cls: type[TaskConfig], data: dict[str, Any], path: str) -> dict[str, Any]:
    """Move former keys (``cls.aliases``) to their current, possibly dotted, names.

    Raises
    ------
    ConfigError
        If a former key and its current name are both given, with different values.
    """
    if not cls.aliases or not set(data) & set(cls.aliases):
        return data
    data = dict(data)
    for old, new in cls.aliases.items():
        if old not in data:
            continue
        value = data.pop(old)
        *heads, last = new.split(".")
        inner = data
        for head in heads:
            inner = inner.setdefault(head, {})
            if not isinstance(inner, dict):
                raise ConfigError(f"{path}: {old!r} is {new!r} but {head!r} is not a mapping")
        if last in inner and inner[last] != value:
            raise ConfigError(f"{path}: {old!r} ({value!r}) and {new!r} ({inner[last]!r}) differ")
        inner[last] = value
    return data


def _coerce(owner: str, name: str, hint: Any, value: Any) -> Any:
    """Convert JSON values to the annotated type where that is lossless."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _coerce(owner, name, args[0], value)
    if isinstance(hint, type) and issubclass(hint, TaskConfig):
        return value if isinstance(value, hint) else hint._build(value, f"{owner}.{name}")
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


@dataclass(frozen=True)
class FieldSpec:
    """One settable field of a config class (for a form widget or a CLI option).

    Parameters
    ----------
    name : str
        The field, dotted for a nested config's field (``classifier.epochs``).
    widget : str
        ``"bool"``, ``"int"``, ``"float"``, ``"text"`` (strings and paths) or
        ``"json"`` (lists, tuples, dicts).
    default : Any
        The field's default (``None`` when optional or required).
    optional : bool
        Whether ``None`` is allowed (an empty input means "default").
    required : bool
        Whether the field has no default.
    help : str
        The field's description from the class docstring (numpydoc
        ``Parameters``/``Attributes``, else the comment after the field).
    choices : tuple
        The allowed values of a ``Literal`` field, else empty.
    item : type or None
        The element type of a list or tuple field (``str``, ``int``, ``float``).
    maximum : float or None
        The largest value accepted (:data:`MAX_VALUES`), for a number input's
        ``max_value``; the reason is also appended to ``help``.
    """

    name: str
    widget: str
    default: Any
    optional: bool
    required: bool
    help: str
    choices: tuple[Any, ...] = ()
    item: type | None = None
    maximum: float | None = None


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); other hints -> (hint, False)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else str), type(None) in args
    return hint, False


def _widget(hint: Any) -> str:
    if hint in (bool, int, float):
        return hint.__name__
    if hint in (str, Path) or typing.get_origin(hint) is typing.Literal:
        return "text"
    return "json"


def _item(hint: Any) -> type | None:
    """The element type of ``list[X]`` / ``tuple[X, ...]`` when it is a plain scalar."""
    if typing.get_origin(hint) not in (list, tuple):
        return None
    args = [a for a in typing.get_args(hint) if a is not Ellipsis]
    return args[0] if len(set(args)) == 1 and args[0] in (str, int, float) else None


def _docs(cls: type) -> dict[str, str]:
    """Field descriptions of a config class and its bases (a subclass's own text wins).

    A field a base class declares for several tasks is described once, there.
    """
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            found.update({name: text for name, text in _own_docs(klass).items() if text})
    return found


def _own_docs(cls: type) -> dict[str, str]:
    """Field descriptions from a numpydoc ``Parameters`` or ``Attributes`` section.

    Grouped entries (``steps, batch : int``) give each name the shared text.
    Fields the docstring does not describe take the comment after their line
    in the class source, when there is one.
    """
    text = re.split(r"\n\s*(?:Parameters|Attributes)\n\s*-+\n", cls.__doc__ or "", maxsplit=1)
    found: dict[str, str] = {}
    names: list[str] = []
    for line in text[-1].splitlines() if len(text) > 1 else ():
        head = re.match(r"^\s{0,4}(\w+(?:\s*,\s*\w+)*)\s*(?::|$)", line)
        if head and line.strip() and not line.startswith(" " * 8):
            names = [n.strip() for n in head.group(1).split(",")]
            for name in names:
                found[name] = ""
        elif names and line.strip():
            for name in names:
                found[name] = (found[name] + " " + line.strip()).strip()
    for name, comment in _field_comments(cls).items():
        if not found.get(name):
            found[name] = comment
    return found


def _field_comments(cls: type) -> dict[str, str]:
    """``name: type = value  # comment`` lines of a class body -> {name: comment}."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    pattern = r"^\s{4}(\w+)\s*:[^#\n]*#\s*(.+)$"
    return {m.group(1): m.group(2).strip() for m in re.finditer(pattern, source, re.M)}


def field_specs(cls: type[TaskConfig], *, prefix: str = "") -> list[FieldSpec]:
    """The settable fields of a config class in declaration order, nested ones dotted.

    Parameters
    ----------
    cls : type
        A :class:`TaskConfig` subclass.
    prefix : str, default ""
        Prepended to every name (used for the fields of a nested config).

    Returns
    -------
    list of FieldSpec
        One per field; a nested ``TaskConfig`` field gives one spec per field
        of its own (``classifier.epochs``), with its owner's default values.
    """
    return _specs(cls, prefix, None)


def _specs(cls: type[TaskConfig], prefix: str, defaults: Any) -> list[FieldSpec]:
    hints = typing.get_type_hints(cls)
    docs = _docs(cls)
    specs: list[FieldSpec] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        default = _default(f)
        required = default is dataclasses.MISSING
        default = None if required else default
        if defaults is not None:
            default = getattr(defaults, f.name)
        inner, optional = _unwrap(hints[f.name])
        if isinstance(inner, type) and issubclass(inner, TaskConfig):
            specs += _specs(inner, f"{prefix}{f.name}.", default)
            continue
        if isinstance(default, Path):
            default = str(default)
        choices = typing.get_args(inner) if typing.get_origin(inner) is typing.Literal else ()
        widget, doc = _widget(inner), docs.get(f.name, "")
        bound = max_value(cls.__name__, f.name)
        if bound is not None:
            doc = f"{doc} At most {format_bound(bound[0])}: {bound[1]}.".strip()
        maximum = None if bound is None else bound[0]
        spec = FieldSpec(prefix + f.name, widget, default, optional, required, doc, choices)
        specs.append(dataclasses.replace(spec, item=_item(inner), maximum=maximum))
    return specs
