"""What Compose, History and the X/Y grid stand on: PNG settings (ours and A1111's),
the workspace history and ``galaxysd grid``."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from galaxysd_core.diffusion import (
    build_pipeline,
    read_png_settings,
    save_pipeline,
    tiny_components,
)
from galaxysd_core.diffusion.history import filter_history, load_history, zip_images
from galaxysd_core.diffusion.pnginfo import SETTINGS_KEYS, PngSettingsError
from galaxysd_core.errors import ConfigError, ImageReadError
from galaxysd_core.metrics.grid import GridConfig, heat_table, parse_axis, with_weight

PROMPT = "sdss, spiral galaxy, {dust lane:1.3}"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_pipeline(build_pipeline(tiny_components(0)), tmp_path_factory.mktemp("m") / "tiny")


def test_generate_cli_writes_settings_that_read_back(model_dir, tmp_path):
    from galaxysd_core.cli import main

    used = {"prompt": PROMPT, "negative_prompt": "merger, {ring:0.8}", "seed": 5, "steps": 2,
            "guidance": 6.5, "scheduler": "ddim", "strength": 0.7, "model": str(model_dir)}  # fmt: skip
    args = ["generate", "--model", str(model_dir), "--prompt", PROMPT, "--n", "2",
            "--negative-prompt", used["negative_prompt"], "--seed", "5", "--steps", "2",
            "--guidance", "6.5", "--scheduler", "ddim", "--strength", "0.7", "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    first, second = sorted(tmp_path.glob("*.png"))
    settings = read_png_settings(first)
    assert {k: settings[k] for k in SETTINGS_KEYS} == used
    assert settings["source"] == "galaxysd" and read_png_settings(second)["seed"] == 6
    # A file-like object (an upload) reads the same.
    assert read_png_settings(io.BytesIO(first.read_bytes()))["prompt"] == PROMPT


def _png(path: Path, **text: str) -> Path:
    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


def test_reads_a1111_parameters(tmp_path):
    text = (
        "sdss, (spiral galaxy:1.2),\nring galaxy\nNegative prompt: blurry, merger\n"
        "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 4242, "
        "Size: 512x512, Model hash: abc123, Model: sd15, Denoising strength: 0.45, "
        'Lora hashes: "a: 1, b: 2", Version: v1.9.4'
    )
    settings = read_png_settings(_png(tmp_path / "a1111.png", parameters=text))
    assert settings["prompt"] == "sdss, (spiral galaxy:1.2),\nring galaxy"
    assert settings["negative_prompt"] == "blurry, merger"
    assert (settings["steps"], settings["guidance"], settings["seed"]) == (28, 6.5, 4242)
    assert settings["sampler"] == "DPM++ 2M Karras" and settings["scheduler"] == "dpmpp_2m"
    assert (settings["strength"], settings["model"], settings["size"]) == (0.45, "sd15", "512x512")
    plain = read_png_settings(
        _png(
            tmp_path / "b.png",
            parameters="a galaxy\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1",
        )
    )
    assert plain["negative_prompt"] == "" and plain["scheduler"] == "euler_a"
    assert plain["strength"] is None and plain["model"] is None
    odd = read_png_settings(_png(tmp_path / "c.png", parameters="x\nSteps: 5, Sampler: LMS"))
    assert odd["scheduler"] is None and odd["sampler"] == "LMS"  # no sampler of ours


def test_png_without_settings_is_refused_by_name(tmp_path):
    with pytest.raises(PngSettingsError, match=r"bare\.png carries no generation settings"):
        read_png_settings(_png(tmp_path / "bare.png", Title="a galaxy"))
    with pytest.raises(PngSettingsError, match=r"words\.png.*no A1111 settings line"):
        read_png_settings(_png(tmp_path / "words.png", parameters="just a prompt"))
    (tmp_path / "fake.png").write_text("not a png")
    with pytest.raises(ImageReadError, match=r"fake\.png"):
        read_png_settings(tmp_path / "fake.png")


def test_history_lists_filters_and_zips(model_dir, ws, monkeypatch):
    from galaxysd_core.diffusion import generate, load_pipeline
    from galaxysd_core.diffusion.history import batch_folder

    monkeypatch.syspath_prepend(str(ROOT))  # `pages._common` for the History page
    pipe = load_pipeline(model_dir)
    first = batch_folder(ws, now=1_000_000)
    generate(pipe, PROMPT, n=2, steps=2, seed=0, out=first, model_name="tiny")
    second = batch_folder(ws, now=1_000_000)  # same second: a folder of its own
    assert second != first
    time.sleep(0.05)  # the second batch is newer
    generate(pipe, "sdss, smooth, completely round galaxy", n=1, steps=2, seed=9, out=second,
             model_name="other")  # fmt: skip
    (first / "orphan.json").write_text("{not json")  # skipped, not fatal
    frame = load_history(ws)
    assert list(frame["seed"]) == [9, 0, 1]  # newest first
    assert frame["tags"].iloc[1] == ("spiral", "dust_lane")
    assert list(filter_history(frame, tags=["dust_lane"])["seed"]) == [0, 1]
    assert list(filter_history(frame, text="ROUND")["seed"]) == [9]
    assert list(filter_history(frame, models=["other"])["seed"]) == [9]
    from streamlit.testing.v1 import AppTest

    from pages._common import Keys

    at = AppTest.from_file(str(ROOT / "pages" / "history.py"), default_timeout=60).run()
    assert [b.label for b in at.button].count("Open") == 3 and not at.exception
    next(b for b in at.button if b.label == "Open").click().run()  # the newest image
    assert at.session_state[Keys.HISTORY_SELECTED] == frame["path"].iloc[0]
    assert {"Reuse these settings", "Use as reference"} <= {b.label for b in at.button}
    with zipfile.ZipFile(io.BytesIO(zip_images(frame["path"][:2]))) as archive:
        assert sorted(archive.namelist()) == ["galaxy-0.json", "galaxy-0.png", "galaxy-9.json",
                                              "galaxy-9.png"]  # fmt: skip


def test_axes_and_phrase_weights():
    assert parse_axis("guidance=3,5.5").values == (3.0, 5.5)
    assert parse_axis("steps=10, 20").values == (10, 20)
    assert parse_axis("weight: dust lane =0.8,1.3").name == "weight:dust lane"
    for bad, match in [("guidance", "not AXIS="), ("cfg=1,2", "unknown axis 'cfg'"),
                       ("steps=a,b", "needs int values"), ("seed=", "no values"),
                       ("seed=1,1", "repeats"), ("scheduler=euler", "unknown scheduler 'euler'")]:  # fmt: skip
        with pytest.raises(ConfigError, match=match):
            parse_axis(bad)
    assert with_weight(PROMPT, "dust lane", 0.8) == "sdss, spiral galaxy, {dust lane:0.8}"
    assert (
        with_weight("sdss, {spiral:1.2} galaxy", "Spiral galaxy", 0.5)
        == "sdss, {spiral galaxy:0.5}"
    )
    assert with_weight("sdss, dust lane", "dust lane", 1.0) == "sdss, dust lane"
    with pytest.raises(ConfigError, match="'ring' is not in the prompt"):
        with_weight(PROMPT, "ring", 1.2)
    with pytest.raises(ConfigError, match="same axis 'seed'"):
        GridConfig(prompt=PROMPT, x="seed=1,2", y="seed=3,4").validate()
    with pytest.raises(ConfigError, match="121 cells"):
        GridConfig(prompt=PROMPT, x=f"seed={','.join(map(str, range(11)))}",
                   y=f"steps={','.join(map(str, range(1, 12)))}").validate()  # fmt: skip


@pytest.mark.slow
def test_grid_cli_contract(model_dir, mock_sky, tmp_path, ws):
    from galaxysd_core.cli import main

    out = tmp_path / "grid"
    args = ["grid", "--model", str(model_dir), "--prompt", "sdss, spiral galaxy, dust lane",
            "--x", "guidance=3,7", "--y", "weight:dust lane=0.8,1.3", "--seed", "2",
            "--steps", "2", "--real", str(mock_sky), "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    frame = pd.read_csv(out / "grid.csv")
    assert len(frame) == 4 and {"consistency", "realism"} <= set(frame.columns)
    assert list(frame["x_value"]) == [3.0, 7.0, 3.0, 7.0]
    assert list(frame["y_value"]) == [0.8, 0.8, 1.3, 1.3]
    assert frame["prompt"].iloc[3] == "sdss, spiral galaxy, {dust lane:1.3}"
    assert frame["consistency"].between(0, 1).all() and frame["realism"].between(-1, 1).all()
    with Image.open(out / "grid.png") as sheet:  # two columns and two rows of 128 px cells
        assert sheet.size[0] > 2 * 128 and sheet.size[1] > 2 * 128
    cell = read_png_settings(out / frame["image"].iloc[1])
    assert (cell["guidance"], cell["seed"], cell["steps"]) == (7.0, 2, 2)
    table = heat_table(frame, "consistency")
    assert table.shape == (2, 2) and list(table.columns) == ["guidance=3.0", "guidance=7.0"]
    assert np.allclose(table.to_numpy().ravel(), frame["consistency"])
    assert main([*args[:-1], str(tmp_path / "bad"), "--x", "cfg=1"]) == 2  # a one-line error
