"""Pipelines and generation on a tiny model: loading, reproducibility, img2img, metadata, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from galaxysd_core.diffusion import (
    build_pipeline,
    generate,
    load_pipeline,
    read_png_settings,
    save_pipeline,
    tiny_components,
)
from galaxysd_core.errors import Cancelled, ConfigError, ImageReadError, ModelFolderError
from galaxysd_core.progress import Progress

PROMPT = "sdss, spiral galaxy, {dust lane:1.3}"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "tiny"
    return save_pipeline(build_pipeline(tiny_components(0)), out)


@pytest.fixture(scope="module")
def pipe(model_dir):
    return load_pipeline(model_dir)


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Path:
    """A prepared-dataset folder with two tagged images."""
    folder = tmp_path_factory.mktemp("pool")
    rows = []
    for i, text in enumerate(
        ["sdss, spiral galaxy, dust lane", "sdss, smooth, completely round galaxy"]
    ):
        value = 200 if i == 0 else 20
        Image.fromarray(np.full((32, 32, 3), value, np.uint8)).save(folder / f"{i}.jpg")
        rows.append(json.dumps({"file_name": f"{i}.jpg", "text": text, "tags": []}))
    (folder / "metadata.jsonl").write_text("\n".join(rows) + "\n")
    return folder


def pixels(result) -> list[np.ndarray]:
    return [np.asarray(im) for im in result.images]


def test_save_load_round_trip_keeps_weights(model_dir, pipe):
    fresh = tiny_components(0)
    for name in ("unet", "vae", "text_encoder"):
        saved = getattr(pipe, name).state_dict()
        for key, value in fresh[name].state_dict().items():
            torch.testing.assert_close(saved[key], value)
    assert pipe.tokenizer("sdss")["input_ids"] == [49406, 3080, 632, 49407]
    import diffusers

    again = diffusers.StableDiffusionPipeline.from_pretrained(model_dir, local_files_only=True)
    assert again.unet.config.sample_size == pipe.unet.config.sample_size


def test_load_rejects_missing_and_foreign_folders(tmp_path):
    with pytest.raises(ModelFolderError, match="does not exist"):
        load_pipeline(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("not a model")
    for foreign in (tmp_path / "notes.txt", tmp_path):  # a file; a folder without model_index
        with pytest.raises(ModelFolderError, match="not a diffusers pipeline folder"):
            load_pipeline(foreign)
    (tmp_path / "model_index.json").write_text("{broken")
    with pytest.raises(ModelFolderError, match="cannot load"):
        load_pipeline(tmp_path)


def test_same_seed_same_pixels_whatever_the_batching(pipe):
    a = generate(pipe, PROMPT, n=3, seed=5, steps=3, batch_size=3)
    b = generate(pipe, PROMPT, n=3, seed=5, steps=3, batch_size=2)
    c = generate(pipe, PROMPT, n=1, seed=6, steps=3)
    for x, y in zip(pixels(a), pixels(b), strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(pixels(a)[1], pixels(c)[0])
    assert not np.array_equal(pixels(a)[0], pixels(a)[1])
    assert pixels(a)[0].shape == (32, 32, 3)


@pytest.mark.parametrize("scheduler", ["dpmpp_2m", "ddim"])
def test_other_schedulers_run_and_differ(pipe, scheduler):
    base = generate(pipe, PROMPT, n=1, seed=1, steps=3)
    other = generate(pipe, PROMPT, n=1, seed=1, steps=3, scheduler=scheduler)
    assert other.metadata[0]["scheduler"] == scheduler
    assert not np.array_equal(pixels(base)[0], pixels(other)[0])


def test_png_and_sidecar_carry_the_recipe(pipe, tmp_path):
    made = generate(pipe, PROMPT, n=2, seed=3, steps=2, guidance=5.0, out=tmp_path)
    assert [p.name for p in made.paths] == ["galaxy-3.png", "galaxy-4.png"]
    with Image.open(made.paths[1]) as img:
        recipe = json.loads(img.text["parameters"])
        assert img.text["seed"] == "4"
    assert recipe == json.loads(made.paths[1].with_suffix(".json").read_text())
    assert recipe["prompt"] == PROMPT and recipe["seed"] == 4
    assert recipe["weights"] == [["sdss, spiral galaxy, ", 1.0], ["dust lane", 1.3]]
    assert (recipe["scheduler"], recipe["steps"], recipe["guidance"]) == ("euler_a", 2, 5.0)
    # strength is recorded as asked (0.6 by default); without a reference it does nothing
    assert recipe["reference"] is None and recipe["strength"] == 0.6


def test_reference_start_uses_the_reference(pipe, pool, tmp_path):
    bright, dark = pool / "0.jpg", pool / "1.jpg"
    a = generate(pipe, PROMPT, n=1, seed=0, steps=4, reference=bright, strength=0.5)
    b = generate(pipe, PROMPT, n=1, seed=0, steps=4, reference=dark, strength=0.5)
    text_only = generate(pipe, PROMPT, n=1, seed=0, steps=4)
    # Same seed, different start: the reference's latents are what gets noised.
    assert not np.array_equal(pixels(a)[0], pixels(b)[0])
    assert not np.array_equal(pixels(a)[0], pixels(text_only)[0])
    assert a.metadata[0]["reference"] == str(bright) and a.metadata[0]["strength"] == 0.5
    auto = generate(
        pipe, "sdss, {dust lane:1.2}", n=2, seed=0, steps=4, reference="auto", pool=pool
    )
    assert {m["reference"] for m in auto.metadata} == {str(bright)}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scheduler": "euler"}, ConfigError, "unknown scheduler 'euler'"),
        ({"steps": 0}, ConfigError, "steps must be a positive integer, got 0"),
        ({"strength": 0.0}, ConfigError, r"strength must be in \(0, 1\], got 0.0"),
        ({"strength": 1.5}, ConfigError, "got 1.5"),
        ({"reference": "missing.png"}, ImageReadError, "missing.png"),
        ({"reference": "auto"}, ConfigError, "needs pool="),
    ],
)
def test_bad_input_is_refused_and_nothing_written(pipe, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        generate(pipe, PROMPT, n=1, steps=kwargs.pop("steps", 2), out=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_unreadable_reference_and_bad_prompt(pipe, tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    with pytest.raises(ImageReadError, match=r"fake\.png"):
        generate(pipe, PROMPT, n=1, steps=2, reference=fake, out=tmp_path / "out")
    with pytest.raises(ValueError, match="position 6"):
        generate(pipe, "sdss, {dust lane", n=1, steps=2, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


class _StopAfter(Progress):
    def __init__(self, steps: int) -> None:
        self.seen: list[tuple[int, int]] = []
        self.steps = steps

    def update(self, step, total, **logs):
        self.seen.append((step, total))

    def should_stop(self):
        return len(self.seen) >= self.steps


def test_progress_and_cancel(pipe, tmp_path):
    watcher = _StopAfter(10**6)
    generate(pipe, PROMPT, n=3, steps=4, batch_size=2, progress=watcher)
    assert watcher.seen[-1] == (8, 8) and len(watcher.seen) == 8
    with pytest.raises(Cancelled):
        generate(pipe, PROMPT, n=2, steps=4, progress=_StopAfter(2), out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_generate_contract(model_dir, tmp_path, capsys):
    from galaxysd_core.cli import main

    args = [
        "generate",
        "--model",
        str(model_dir),
        "--prompt",
        PROMPT,
        "--n",
        "2",
        "--seed",
        "7",
        "--steps",
        "3",
        "--guidance",
        "6.5",
        "--scheduler",
        "euler_a",
    ]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    first, second = sorted((tmp_path / "a").glob("*.png")), sorted((tmp_path / "b").glob("*.png"))
    assert len(first) == 2 and [p.name for p in first] == [p.name for p in second]
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(np.asarray(Image.open(x)), np.asarray(Image.open(y)))
    assert (
        main(
            [
                "generate",
                "--model",
                str(tmp_path / "none"),
                "--prompt",
                "x",
                "--out",
                str(tmp_path / "c"),
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert main([*args, "--scheduler", "bogus", "--out", str(tmp_path / "d")]) == 2
    assert not (tmp_path / "d").exists()
    # Autoguidance by the model itself: nothing to steer away from, the same pixels.
    guided = [*args, "--guide-model", str(model_dir), "--guide-weight", "2"]
    assert main([*guided, "--out", str(tmp_path / "e")]) == 0
    for x, y in zip(first, sorted((tmp_path / "e").glob("*.png")), strict=True):
        assert np.abs(np.asarray(Image.open(x), int) - np.asarray(Image.open(y), int)).max() <= 1
    assert main([*args, "--guide-weight", "2", "--out", str(tmp_path / "f")]) == 2
    assert "guide_weight 2.0 needs a guide_model to steer away from (no tiny-guide" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "f").exists()
    # A weight alone takes the model's <name>-guide folder beside it.
    shutil.copytree(model_dir, tmp_path / "m")
    shutil.copytree(model_dir, tmp_path / "m-guide")
    beside = [*args[:2], str(tmp_path / "m"), *args[3:], "--guide-weight", "2"]
    assert main([*beside, "--out", str(tmp_path / "g")]) == 0
    made = sorted((tmp_path / "g").glob("*.png"))
    assert read_png_settings(made[0])["guide"] == str(tmp_path / "m-guide")
