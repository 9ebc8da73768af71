"""Nested task configs and the command line derived from them."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import ClassVar, Literal

import pytest

from galaxysd_core.cli import add_config_arguments, build_parser, config_from_args
from galaxysd_core.config import TaskConfig, field_specs
from galaxysd_core.errors import ConfigError
from galaxysd_core.jobs.registry import KINDS


@dataclasses.dataclass
class Inner(TaskConfig):
    """A nested config.

    Attributes
    ----------
    epochs : int
        Passes over the data, >= 1.
    mode : {"a", "b"}
        Which mode.
    """

    epochs: int = 20
    mode: Literal["a", "b"] = "a"

    def validate(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"Inner.epochs: must be >= 1, got {self.epochs}")


@dataclasses.dataclass
class Outer(TaskConfig):
    """A task with a nested config.

    Attributes
    ----------
    max_per_tag : int
        Cap per tag.
    names : tuple of str
        Several names.
    weights : dict of str to float
        Weights by tag.
    overwrite : bool
        Replace the output.
    out : Path or None
        Output folder.
    inner : Inner
        The nested settings.
    """

    aliases: ClassVar[dict[str, str]] = {"epochs": "inner.epochs", "cap": "max_per_tag"}

    max_per_tag: int = 2000
    names: tuple[str, ...] = ("x",)
    weights: dict[str, float] = dataclasses.field(default_factory=dict)
    overwrite: bool = False
    out: Path | None = None
    inner: Inner = dataclasses.field(default_factory=lambda: Inner(epochs=10))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, Outer)
    return parser


def test_nested_from_dict_round_trips_and_keeps_the_owners_defaults():
    config = Outer.from_dict({"inner": {"mode": "b"}})
    assert config.inner == Inner(epochs=10, mode="b")  # Outer's default 10, not Inner's 20
    assert config.to_dict()["inner"] == {"epochs": 10, "mode": "b"}
    assert Outer.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    # Flat keys of configs saved before the field moved, and dotted keys, load too.
    assert Outer.from_dict({"epochs": 3}).inner.epochs == 3
    assert Outer.from_dict({"inner.epochs": 4}).inner.epochs == 4
    assert Outer.from_dict({"cap": 5}).max_per_tag == 5  # a renamed top-level field


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"inner": {"epochs": 0}}, r"^Outer\.inner\.epochs: must be >= 1, got 0$"),
        ({"inner": {"epochs": "x"}}, r"^Outer\.inner\.epochs: expected int, got 'x'$"),
        ({"inner": {"nope": 1}}, r"^Outer\.inner: unknown field\(s\) \['nope'\]"),
        ({"inner": 3}, r"^Outer\.inner: expected a mapping, got int$"),
        ({"epochs": 0}, r"^Outer\.inner\.epochs: must be >= 1"),
        ({"epochs": 2, "inner": {"epochs": 3}}, "'epochs' .* and 'inner.epochs' .* differ"),
    ],
)
def test_nested_errors_name_the_dotted_field(data, message):
    with pytest.raises(ConfigError, match=message):
        Outer.from_dict(data)


def test_add_config_arguments_derives_one_option_per_field():
    parser = _parser()
    options = {o for a in parser._actions for o in a.option_strings}
    expected = {"--max-per-tag", "--names", "--weights", "--overwrite", "--no-overwrite"}
    assert expected | {"--out", "--inner.epochs", "--inner.mode", "--epochs", "--cap"} <= options
    flags = ["--max-per-tag", "5", "--names", "a", "b", "--weights", '{"bar": 2}', "--overwrite"]
    args = parser.parse_args([*flags, "--epochs", "7", "--inner.mode", "b"])
    config = config_from_args(Outer, args)
    assert config == Outer(
        max_per_tag=5, names=("a", "b"), weights={"bar": 2.0}, overwrite=True,
        inner=Inner(epochs=7, mode="b"),
    )  # fmt: skip
    assert config_from_args(Outer, parser.parse_args([])) == Outer()
    assert "--inner.mode {a,b}" in parser.format_help()  # a Literal's choices, shown
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-per-tag", "many"])
    text = parser.format_help()
    assert "Cap per tag. (default: 2000)" in text and "Passes over the data" in text


def test_flags_override_a_config_file(tmp_path):
    saved = tmp_path / "config.json"
    Outer(max_per_tag=9, inner=Inner(epochs=4, mode="b")).save(saved)
    args = _parser().parse_args(["--config", str(saved), "--inner.epochs", "6"])
    assert config_from_args(Outer, args) == Outer(max_per_tag=9, inner=Inner(epochs=6, mode="b"))
    assert config_from_args(Outer, _parser().parse_args(["--config", str(saved)])).max_per_tag == 9


def _options(words: list[str]) -> set[str]:
    parser = build_parser()
    for word in words:
        parser = next(
            a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
        ).choices[word]
    return {o for a in parser._actions for o in a.option_strings}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_help_lists_an_option_for_every_field_of_every_job_kind(kind):
    row = KINDS[kind]
    options = _options(list(row.words))
    for spec in field_specs(row.load_config_class()):
        assert "--" + spec.name.replace("_", "-") in options, spec.name


def test_generate_and_simulate_votes_options_come_from_their_configs():
    from galaxysd_core.diffusion.config import GenerateConfig
    from galaxysd_core.discovery.config import SimulateVotesConfig

    for words, cls in (
        (["generate"], GenerateConfig),
        (["discover", "simulate-votes"], SimulateVotesConfig),
    ):
        options = _options(words)
        assert all("--" + s.name.replace("_", "-") in options for s in field_specs(cls))


def test_old_flags_still_parse_into_the_nested_classifier():
    from galaxysd_core.classify import ExperimentConfig
    from galaxysd_core.discovery import RoundConfig

    parser = build_parser()
    args = parser.parse_args(["classify-experiment", "--arch", "tiny", "--epochs", "2"])
    config = config_from_args(ExperimentConfig, args)
    assert (config.classifier.arch, config.classifier.epochs) == ("tiny", 2)
    args = parser.parse_args(["discover", "round", "--image-size", "32", "--match-sky"])
    config = config_from_args(RoundConfig, args)
    assert config.classifier.image_size == 32 and config.match_sky
    assert config.classifier.epochs == 10  # RoundConfig's default, not ClassifierConfig's


@pytest.mark.parametrize("cls", ["embedding.SimCLRConfig", "metrics.FeatureClassifierConfig"])
@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ({"depths": (1, 1), "hidden_sizes": (8,)}, ".depths (1, 1) and hidden_sizes (8,) must be"),
        ({"depths": (0,), "hidden_sizes": (8,)}, ": depths and hidden_sizes must be >= 1"),
        ({"embedding_size": 0}, ".embedding_size must be >= 1, got 0"),
        ({"image_size": 8}, ".image_size must be >= 16, got 8"),
    ],
)
def test_resnet_tasks_share_shape_checks_and_help(cls, shape, message, tmp_path):
    """The SimCLR encoder and the consistency classifiers take their shape fields from one base."""
    import importlib

    module, name = cls.split(".")
    config = getattr(importlib.import_module(f"galaxysd_core.{module}"), name)
    with pytest.raises(ConfigError) as info:
        config.from_dict({"data": str(tmp_path), **shape})
    assert str(info.value).startswith(name + message)
    help_of = {spec.name: spec.help for spec in field_specs(config)}
    assert help_of["depths"] == "Basic blocks per ResNet stage."  # the base's docstring
    assert help_of["data"] and help_of["data"] != "The training images."  # the task's own
