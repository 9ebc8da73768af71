"""A tiny Table 2-style experiment end to end, and config errors."""

from __future__ import annotations

import pandas as pd
import pytest

from galaxysd_core.classify.config import ClassifierConfig
from galaxysd_core.classify.experiments import (
    ExperimentConfig,
    _synthetic_images,
    display_table,
    run_experiment,
)
from galaxysd_core.diffusion import build_pipeline, save_pipeline, tiny_components
from galaxysd_core.discovery import RoundConfig, run_round
from galaxysd_core.discovery.simulated import render_stand_ins
from galaxysd_core.errors import ConfigError, GalaxySDError, ModelFolderError
from galaxysd_core.progress import Progress


@pytest.mark.parametrize("match_sky", [False, True])
def test_tiny_disk_experiment_writes_table_beside_paper(mock_sky, tmp_path, match_sky):
    synthetic = tmp_path / "edge_on"
    render_stand_ins(synthetic, n=6, size=64, where="t02_edgeon_a04_yes")
    # Flat keys (arch, image_size, epochs) as saved before `classifier` nested them.
    cfg = ExperimentConfig.from_dict(
        dict(
            task="disk",
            sky=str(mock_sky),
            scale=0.02,  # 200 negatives, 20 positives
            arms=("baseline", "synthetic"),
            n_synthetic=300,  # x 0.02 = 6 synthetic positives
            synthetic_dir=str(synthetic),
            match_sky=match_sky,
            arch="tiny",
            image_size=32,
            epochs=1,
            n_boot=50,
            output_dir=str(tmp_path / "run"),
        )
    )
    summary = run_experiment(cfg)
    assert summary["arm"].tolist() == ["baseline", "synthetic"]
    assert summary.loc[0, "paper_f1"] == 0.63 and summary.loc[1, "paper_f1"] == 0.80
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    base, syn = results.iloc[0], results.iloc[1]
    assert syn["n_train_pos"] == base["n_train_pos"] + 6  # synthetic in training only
    assert syn["n_test_pos"] == base["n_test_pos"] >= 1
    assert (summary["f1_low"] <= summary["f1"]).all() and (
        summary["f1"] <= summary["f1_high"]
    ).all()
    assert display_table(summary).loc[0, "paper purity"] == "0.81"


def test_experiment_and_round_config_errors(ws, mock_sky):
    with pytest.raises(ConfigError, match="task: 'galaxy' is not one of"):
        ExperimentConfig.from_dict({"task": "galaxy"})
    with pytest.raises(ConfigError, match=r"arms: \['ours'\] must be"):
        ExperimentConfig.from_dict({"arms": ["ours"]})
    with pytest.raises(GalaxySDError, match="campaign: 'a b' is not a name"):
        RoundConfig.from_dict({"campaign": "a b"})
    no_model = RoundConfig(campaign="m", sky=str(mock_sky), model=str(ws.root / "nope"))
    with pytest.raises(ModelFolderError, match="has no diffusion model"):
        run_round(no_model)


class Recorder(Progress):
    def __init__(self) -> None:
        self.events: list[tuple[int, int, str]] = []

    def update(self, step: int, total: int, **logs) -> None:
        self.events.append((step, total, logs.get("message", "")))


def test_synthetic_arm_reports_every_sampler_step_and_reuses_images(tmp_path):
    model = save_pipeline(build_pipeline(tiny_components(0)), tmp_path / "tiny")
    cfg = ExperimentConfig(
        task="disk", model=str(model), steps=2, classifier=ClassifierConfig(image_size=32)
    )
    progress = Recorder()
    images = _synthetic_images(cfg, tmp_path / "run", 3, progress)
    assert tuple(images.shape) == (3, 3, 32, 32)
    # 2 sampler steps x 3 images, one update per step, named after the prompt.
    assert [(s, t) for s, t, _ in progress.events] == [(3, 6), (6, 6)]
    assert progress.events[0][2] == "synthetic: sdss, edge-on galaxy"
    again = Recorder()
    _synthetic_images(cfg, tmp_path / "run", 3, again)
    assert again.events == []  # the images on disk are reused, nothing sampled
