"""Feature classifiers, evaluation runs and embedding maps on the small mock sky."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxysd_core.embedding import MapConfig
from galaxysd_core.embedding.map import compute_map, read_map
from galaxysd_core.embedding.model import Encoder, EncoderSpec, save_encoder
from galaxysd_core.errors import ConfigError
from galaxysd_core.metrics import EvaluateConfig, FeatureClassifierConfig
from galaxysd_core.metrics.evaluate import evaluate_run, real_table
from galaxysd_core.metrics.features import (
    FEATURES,
    feature_labels,
    load_heads,
    prompt_answers,
    train_feature_classifiers,
)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory, mock_sky):
    """An untrained small encoder with feature heads fitted on the mock sky.

    The plumbing, not the quality, is under test. The workspace (and its
    embedding cache) is shared by this module's tests.
    """
    import torch

    torch.manual_seed(0)
    spec = EncoderSpec(image_size=32, depths=[1, 1], hidden_sizes=[8, 16], embedding_size=8)
    folder = save_encoder(Encoder(spec).eval(), tmp_path_factory.mktemp("enc") / "encoder")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALAXYSD_HOME", str(tmp_path_factory.mktemp("ws")))
        mp.delenv("GALAXYSD_DB_URL", raising=False)
        train_feature_classifiers(
            FeatureClassifierConfig(data=mock_sky, encoder=folder, output_dir=folder, folds=3)
        )
        yield folder


def _names(mask: np.ndarray) -> set[str]:
    return {f.name for f, m in zip(FEATURES, mask, strict=True) if m}


def test_prompt_answers_follow_the_gz2_path():
    truth, applicable = prompt_answers(("spiral", "tight_arms"))
    assert _names(applicable) == {"features", "edge_on", "spiral", "tight_arms"}
    assert _names(truth) == {"features", "spiral", "tight_arms"}
    truth, applicable = prompt_answers(("spiral", "loose_arms", "2_arms"))
    assert "tight_arms" in _names(applicable) and "tight_arms" not in _names(truth)
    # winding unspecified: the tight-arms question does not apply; bar never asked
    _, applicable = prompt_answers(("spiral", "4_arms"))
    assert "tight_arms" not in _names(applicable) and "bar" not in _names(applicable)
    truth, applicable = prompt_answers(("in_between", "merger"))
    assert _names(applicable) == {
        "features",
        "completely_round",
        "cigar_shaped",
        "ring",
        "merger",
        "dust_lane",
    }
    assert _names(truth) == {"merger"}
    with pytest.raises(ConfigError, match="unknown GZ2 tag 'bogus'"):
        prompt_answers(("bogus",))


def test_feature_labels_and_heads(mock_sky, tiny_encoder, tmp_path):
    truth = pd.read_parquet(mock_sky / "truth.parquet")
    labels, asked = feature_labels(truth)
    assert list(labels.columns) == [f.name for f in FEATURES]
    # the bar question is asked only of face-on disks
    assert not asked.loc[truth["t01_smooth_or_features_a01_smooth"], "bar"].any()
    assert (tiny_encoder / "feature_heads.safetensors").is_file()
    heads = load_heads(tiny_encoder)
    report = heads.meta["report"]
    assert set(report) == {f.name for f in FEATURES}
    trained = [r for r in report.values() if r["trained"]]
    assert trained and all(0 <= r["cv_balanced_accuracy"] <= 1 for r in trained)
    assert heads.predict(np.ones((3, 16))).shape == (3, 11)
    with pytest.raises(ConfigError, match=r"no truth\.parquet"):
        train_feature_classifiers(FeatureClassifierConfig(data=tmp_path, output_dir=tmp_path))


def _real_images_as_generated(real: pd.DataFrame):
    """A stand-in generator that returns real galaxies carrying the prompt's tags."""

    def generate(pipeline, prompt, *, n, seed, references, **_settings):
        if references is not None:
            return [Image.open(p).convert("RGB") for p in references]
        return [Image.open(p).convert("RGB") for p in real["path"].iloc[seed : seed + n]]

    return generate


def test_evaluate_writes_metrics_reference_rows_and_pareto(mock_sky, tiny_encoder, ws, tmp_path):
    train_feature_classifiers(
        FeatureClassifierConfig(data=mock_sky, encoder=tiny_encoder, output_dir=tiny_encoder)
    )
    model = tmp_path / "model"
    model.mkdir()
    (model / "model_index.json").write_text("{}")  # a model folder: one "checkpoint"
    config = EvaluateConfig(
        run=model, real=mock_sky, encoder=tiny_encoder, prompts=("B", "H"), n_images=6,
        output_dir=tmp_path / "eval", sweep=True, sweep_prompts=("B",), sweep_guidance=(3.0, 7.0),
        sweep_strength=(0.5,), sweep_steps=(10,), sweep_weight=(1.0,),
    )  # fmt: skip
    import galaxysd_core.metrics.evaluate as ev

    original = ev.load_checkpoint_pipeline
    ev.load_checkpoint_pipeline = lambda folder, device: None  # no diffusion model in this test
    try:
        out = evaluate_run(config, generate_fn=_real_images_as_generated(real_table(mock_sky)))
    finally:
        ev.load_checkpoint_pipeline = original
    metrics = pd.read_parquet(out)
    assert set(metrics["mode"]) == {"real-vs-real", "text", "reference"}
    assert set(metrics["prompt"]) == {"B", "H", "ALL"}
    ref = metrics[(metrics["mode"] == "reference") & (metrics["prompt"] == "B")].iloc[0]
    # reference mode here returns the real references themselves: exact twins
    assert ref["realism"] == pytest.approx(1.0, abs=1e-3)
    assert 0 <= ref["consistency"] <= 1
    alls = metrics[metrics["prompt"] == "ALL"].set_index("mode")
    per = metrics[(metrics["prompt"] != "ALL")].groupby("mode")["realism"].mean()
    assert alls.loc["text", "realism"] == pytest.approx(per["text"])  # Eq. 2
    pareto = pd.read_parquet(tmp_path / "eval" / "pareto.parquet")
    assert len(pareto) == 2 and pareto["on_front"].any()
    images = pd.read_parquet(tmp_path / "eval" / "images.parquet")
    assert len(images) == 2 * 2 * 6 + 2 * 6 and all(
        map(lambda p: p.endswith(".png"), images["path"])
    )

    table, emb = (
        read_map(tmp_path / "eval")
        if (tmp_path / "eval" / "map.parquet").exists()
        else (None, None)
    )
    assert table is None
    map_out = compute_map(
        MapConfig(
            real=mock_sky, run=tmp_path / "eval", encoder=tiny_encoder, method="pca", max_real=50
        )
    )
    table, emb = read_map(map_out.parent)
    assert set(table["source"]) == {"real", "generated"}
    assert len(table) == 50 + len(images) and emb.shape == (len(table), 16)
    assert table[["x", "y"]].notna().all().all()


def test_evaluate_bad_runs(tmp_path, ws):
    with pytest.raises(ConfigError, match="no checkpoints"):
        evaluate_run(EvaluateConfig(run=tmp_path, output_dir=tmp_path / "o"))
    with pytest.raises(ConfigError, match="unknown Table 1 prompt"):
        EvaluateConfig.from_dict({"run": str(tmp_path), "prompts": ["Z"]})
    with pytest.raises(ConfigError, match="method must be one of"):
        MapConfig.from_dict({"method": "mds"})
