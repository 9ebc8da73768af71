"""Synthetic positives batch by batch (resumable, per-step progress), round 0's seeds,
and the benchmark-only ``discover simulate-votes`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxysd_core.cli import main
from galaxysd_core.diffusion import build_pipeline, save_pipeline, tiny_components
from galaxysd_core.diffusion.batched import generate_into
from galaxysd_core.discovery import RoundConfig
from galaxysd_core.discovery.campaign import _generate
from galaxysd_core.discovery.simulated import simulate_votes
from galaxysd_core.errors import Cancelled
from galaxysd_core.gz2.folders import catalog_items, read_truth
from galaxysd_core.progress import Progress
from galaxysd_core.review import ReviewStore

PROMPT = "sdss, {completely round:1.2} galaxy, {dust lane:1.3}"


class Recorder(Progress):
    """Keeps every update; requests a stop after ``stop_after`` of them."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.events: list[tuple[int, int, str]] = []
        self.stop_after = stop_after

    def update(self, step: int, total: int, **logs) -> None:
        self.events.append((step, total, logs.get("message", "")))

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.events) >= self.stop_after


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "tiny"
    return save_pipeline(build_pipeline(tiny_components(0)), out)


def _pixels(paths) -> list[np.ndarray]:
    return [np.asarray(Image.open(p)) for p in paths]


def test_generation_keeps_finished_batches_and_resumes_to_same_pixels(model_dir, tmp_path):
    once = generate_into(model_dir, PROMPT, tmp_path / "once", n=5, seed=7, steps=2, guidance=7.0)
    assert [p.name for p in once] == [f"galaxy-{s}.png" for s in range(7, 12)]
    # A stop in the second batch keeps the first batch on disk ...
    with pytest.raises(Cancelled):
        generate_into(model_dir, PROMPT, tmp_path / "cut", n=5, seed=7, steps=2, guidance=7.0,
                      batch_size=2, progress=Recorder(stop_after=3))  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "cut").glob("*.png")) == [
        "galaxy-7.png",
        "galaxy-8.png",
    ]
    # ... and the rerun makes only the 3 missing images, reporting every sampler
    # step on one scale of image-steps (2 steps x 3 images).
    seen = Recorder()
    resumed = generate_into(model_dir, PROMPT, tmp_path / "cut", n=5, seed=7, steps=2, guidance=7.0,
                            batch_size=2, progress=seen, message="synthetic")  # fmt: skip
    assert [(s, t) for s, t, _ in seen.events] == [(2, 6), (4, 6), (5, 6), (6, 6)]
    assert {m for _, _, m in seen.events} == {"synthetic"}
    for a, b in zip(_pixels(once), _pixels(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_generation_passes_the_guidance_interval_on(model_dir, tmp_path):
    """The experiment's synthetic arm asks generate_into for guidance on late steps only."""
    from galaxysd_core.diffusion import read_png_settings

    kwargs = {"n": 2, "seed": 7, "steps": 3, "guidance": 7.0}
    late = generate_into(model_dir, PROMPT, tmp_path / "late", guidance_interval=(0, 400), **kwargs)
    every = generate_into(model_dir, PROMPT, tmp_path / "every", **kwargs)
    assert read_png_settings(late[0])["guidance_interval"] == [0.0, 400.0]
    assert read_png_settings(every[0])["guidance_interval"] is None
    assert any(not np.array_equal(a, b) for a, b in zip(_pixels(late), _pixels(every), strict=True))


def test_generation_passes_autoguidance_on(model_dir, tmp_path):
    """The synthetic arm's guide_weight reaches generate with the guide beside the model."""
    from galaxysd_core.classify.config import ExperimentConfig
    from galaxysd_core.diffusion import read_png_settings
    from galaxysd_core.errors import ConfigError

    kwargs = {"n": 2, "seed": 7, "steps": 3, "guidance": 7.0}
    plain = generate_into(model_dir, PROMPT, tmp_path / "plain", **kwargs)
    # The model as its own guide: nothing to steer away from, the same pixels.
    auto = generate_into(
        model_dir, PROMPT, tmp_path / "auto", guide=model_dir, guide_weight=2.0, **kwargs
    )
    assert read_png_settings(auto[0])["guide_weight"] == 2.0
    assert read_png_settings(plain[0])["guide"] is None
    for a, b in zip(_pixels(plain), _pixels(auto), strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    with pytest.raises(ConfigError, match=r"ExperimentConfig\.guide_weight 2\.0 needs a guide"):
        ExperimentConfig(task="disk", model=str(model_dir), guide_weight=2.0).validate()


def test_round0_prompts_never_share_seeds(ws, model_dir, tmp_path):
    # 101 images per prompt: with a fixed stride of 100, the second prompt's
    # first image took the first prompt's last seed.
    cfg = RoundConfig(campaign="seeds", model=str(model_dir), n_synthetic=202, steps=1)
    progress = Recorder()
    _generate(cfg, tmp_path / "synthetic", progress)
    seeds = [
        json.loads(p.read_text())["seed"] for p in sorted((tmp_path / "synthetic").rglob("*.json"))
    ]
    assert len(seeds) == 202 == len(set(seeds))
    assert progress.events[-1][:2] == (101, 101)  # one step x 101 images per prompt
    assert progress.events[-1][2].startswith("synthetic 2/2: sdss, in-between round")


def test_round0_generates_with_the_interval_and_the_guide_beside_the_model(ws, model_dir, tmp_path):
    """A round's guidance_interval, guide_weight and PAG reach generate; its guide
    is the ``<model>-guide`` folder, and a model without one is refused by name."""
    from galaxysd_core.classify.config import ExperimentConfig
    from galaxysd_core.diffusion import read_png_settings
    from galaxysd_core.errors import ConfigError

    model = save_pipeline(build_pipeline(tiny_components(0)), tmp_path / "m")
    save_pipeline(build_pipeline(tiny_components(0)), tmp_path / "m-guide")  # itself
    common = {"campaign": "guided", "model": str(model), "n_synthetic": 2, "steps": 3}
    guided = RoundConfig(**common, guidance_interval=(0, 400), guide_weight=2.0)
    guided.validate()
    _generate(guided, tmp_path / "guided", Progress())
    _generate(RoundConfig(**common), tmp_path / "plain", Progress())
    files = sorted((tmp_path / "guided").rglob("*.png"))
    settings = read_png_settings(files[0])
    assert settings["guide_weight"] == 2.0
    assert Path(settings["guide"]).name == "m-guide"
    assert settings["guidance_interval"] == [0.0, 400.0]
    assert read_png_settings(sorted((tmp_path / "plain").rglob("*.png"))[0])["guide"] is None
    # Perturbed-attention guidance reaches generate too, from a round and from an experiment.
    pag = {"pag_scale": 1.0, "pag_interval": (400, 1000)}
    _generate(RoundConfig(**common, **pag), tmp_path / "pag", Progress())
    settings = read_png_settings(sorted((tmp_path / "pag").rglob("*.png"))[0])
    assert settings["pag_scale"] == 1.0 and settings["pag_interval"] == [400.0, 1000.0]
    with pytest.raises(ConfigError, match=r"pag_scale must be a number in \[0, 10\], got -1"):
        RoundConfig(campaign="g", model=str(model_dir), pag_scale=-1).validate()
    with pytest.raises(ConfigError, match="pag_interval must have 0 <= LOW < HIGH"):
        ExperimentConfig(task="disk", model=str(model_dir), pag_interval=(500, 100)).validate()
    with pytest.raises(ConfigError, match=r"RoundConfig\.guide_weight 2\.0 needs a guide"):
        RoundConfig(campaign="g", model=str(model_dir), guide_weight=2.0).validate()


def _open_round(ws, sky: Path, name: str) -> int:
    """Round 0 of a campaign as run_round leaves it: files + an open review round."""
    items = catalog_items(sky)
    truth = read_truth(sky)
    detg = (
        items.head(0)
        if truth is None
        else items[items["object_id"].isin(truth.index[truth["is_detg"]])]
    )
    cands = pd.concat([detg, items.head(6)]).drop_duplicates("object_id").assign(score=0.9)
    folder = ws.campaigns / name / "round-0"
    folder.mkdir(parents=True)
    RoundConfig(campaign=name, sky=str(sky)).save(folder / "config.json")
    cands.to_csv(folder / "candidates.csv", index=False)
    store = ReviewStore()
    rows = cands.rename(columns={"path": "image"})[["object_id", "image", "score", "ra", "dec"]]
    rid = store.open_round(name, rows.to_dict("records"))
    store.dispose()
    (folder / "round.json").write_text(json.dumps({"round": 0, "review_round_id": rid}))
    return rid


def test_simulate_votes_command_decides_the_latest_round(ws, mock_sky, capsys):
    rid = _open_round(ws, mock_sky, "bench")
    code = main(["discover", "simulate-votes", "--campaign", "bench",
                 "--false-negative", "0", "--false-positive", "0"])  # fmt: skip
    assert code == 0
    store = ReviewStore()
    table = store.consensus(rid)
    truth = read_truth(mock_sky)["is_detg"]
    assert table["decided"].all()
    # Error-free reviewers accept exactly the true D-ETGs.
    assert table["accepted"].tolist() == truth.reindex(table["object_id"]).tolist()
    assert set(store.votes(rid)["reviewer"]) == {"sim-1", "sim-2", "sim-3"}
    assert f"{len(table)} of {len(table)} candidates decided" in capsys.readouterr().out


def test_simulate_votes_refuses_rounds_people_voted_in_and_real_catalogues(
    ws, mock_sky, tmp_path, capsys
):
    rid = _open_round(ws, mock_sky, "people")
    store = ReviewStore()
    store.add_reviewer("ann", "passphrase-ann")
    store.vote(
        store.sign_in("ann", "passphrase-ann"), int(store.candidates(rid)["candidate_id"][0]), "yes"
    )
    with pytest.raises(ValueError, match=r"already has votes by \['ann'\]"):
        simulate_votes("people")
    assert set(store.votes(rid)["reviewer"]) == {"ann"}  # nothing simulated was written
    # A real catalogue (no truth.parquet): refused with a clear error.
    real = tmp_path / "real"
    real.mkdir()
    for name in ("catalog.csv", "filename_mapping.csv", "known_detg.csv"):
        (real / name).write_bytes((mock_sky / name).read_bytes())
    (real / "images").symlink_to(mock_sky / "images")
    _open_round(ws, real, "real")
    assert main(["discover", "simulate-votes", "--campaign", "real"]) == 2
    assert "only stand in on a mock sky" in capsys.readouterr().err
    assert main(["discover", "simulate-votes", "--campaign", "none"]) == 2
    assert "has no review round" in capsys.readouterr().err
    assert main(["discover", "simulate-votes", "--campaign", "people",
                 "--false-negative", "0.1", "0.2"]) == 2  # fmt: skip
    assert "give one rate or 3" in capsys.readouterr().err
