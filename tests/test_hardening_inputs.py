"""Bad numbers and prompts: refused at the boundary, as one line, before any model loads."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest

from galaxysd_core.config import MAX_VALUES
from galaxysd_core.diffusion.checks import check_generation
from galaxysd_core.errors import ConfigError
from galaxysd_core.jobs import validate_config
from galaxysd_core.jobs.forms import field_specs
from galaxysd_core.paths import DEMO_MODEL, REPO_ROOT
from galaxysd_core.sky import SkyConfig

CLI = [sys.executable, "-m", "galaxysd_core.cli"]


@pytest.mark.parametrize(
    "extra",
    [
        ["--prompt", "sdss, {dust lane"],
        ["--prompt", "sdss", "--guidance", "inf"],
        ["--prompt", "sdss", "--guidance", "nan"],
        ["--prompt", "sdss", "--steps", "1000000"],
        ["--prompt", "sdss", "--n", "10000000"],
        ["--prompt", "{" * 20 + "x" + "}" * 20],
        ["--prompt", "{a" * 20000 + "}" * 20000],
        ["--prompt", "sdss", "--reference", "/no/such.png"],
        ["--prompt", "sdss", "--reference", "auto"],
    ],
    ids=[
        "unbalanced",
        "guidance-inf",
        "guidance-nan",
        "steps",
        "n",
        "nested",
        "80kb",
        "ref",
        "auto",
    ],
)
def test_generate_refuses_bad_input_in_one_line_before_loading(tmp_path, extra):
    out = tmp_path / "out"
    argv = [*CLI, "generate", "--model", str(DEMO_MODEL)]
    start = time.monotonic()
    done = subprocess.run(
        [*argv, *extra, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    took = time.monotonic() - start
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("galaxysd: error:"), done.stderr
    assert "Traceback" not in done.stderr
    assert took < 10, took
    assert not out.exists()


def test_generate_names_a_missing_model_folder_before_loading(tmp_path):
    done = subprocess.run(
        [*CLI, "generate", "--model", str(tmp_path / "no"), "--prompt", "sdss", "--out", "o"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"galaxysd: error: model folder {tmp_path / 'no'} does not exist"


@pytest.mark.parametrize(
    ("kind", "values", "match"),
    [
        ("sky", {"known_detg_fraction": math.nan}, r"SkyConfig\.known_detg_fraction: .*finite"),
        ("sky", {"n": 10**7}, r"SkyConfig\.n: at most 1,000,000 \(galaxies"),
        ("finetune", {"lr": math.inf}, r"FinetuneConfig\.lr: need a finite number, got inf"),
        ("finetune", {"batch": 10**9}, r"FinetuneConfig\.batch: at most 1,024"),
        ("finetune", {"tag_weights": {"dust_lane": math.nan}}, r"tag_weights: .*finite"),
        ("evaluate", {"run": "r", "sweep_guidance": [3.0, math.inf]}, r"sweep_guidance"),
        ("discover-round", {"guidance": math.nan}, r"RoundConfig\.guidance: .*finite"),
        (
            "discover-round",
            {"guide_weight": 9.0},
            r"guide_weight must be a number in \[1, 4\], got 9",
        ),
        (
            "discover-round",
            {"guidance_interval": [400, 0]},
            r"guidance_interval must have 0 <= LOW",
        ),
        ("classify-experiment", {"steps": 10**6}, r"ExperimentConfig\.steps: at most 1,000"),
    ],
)
def test_configs_refuse_non_finite_and_unbounded_numbers(kind, values, match):
    with pytest.raises(ConfigError, match=match):
        validate_config(kind, values)


def test_json_nan_in_a_job_config_file_is_refused(tmp_path):
    """``json`` reads NaN and Infinity; the config refuses them (as jobs launch would)."""
    import json

    data = json.loads('{"n": 10, "known_detg_fraction": NaN}')
    with pytest.raises(ConfigError, match="finite"):
        SkyConfig.from_dict(data)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((4, 30, math.inf, "euler_a", 0.6), "guidance: need a finite"),
        ((4, 30, 7.0, "euler_a", math.nan), "strength: need a finite"),
        ((4, 30, 31.0, "euler_a", 0.6), r"guidance: at most 30"),
        ((1001, 30, 7.0, "euler_a", 0.6), r"n: at most 1,000"),
        ((4, 0, 7.0, "euler_a", 0.6), "steps must be a positive integer"),
    ],
)
def test_sampling_arguments_are_bounded(args, match):
    with pytest.raises(ConfigError, match=match):
        check_generation(*args)


def test_the_training_form_shows_the_bounds():
    specs = {s.name: s for s in field_specs(SkyConfig)}
    assert specs["n"].maximum == MAX_VALUES["SkyConfig.n"][0]
    assert "At most 1,000,000: galaxies" in specs["n"].help
    assert specs["seed"].maximum is None
