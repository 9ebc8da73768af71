"""Feature classifiers, evaluation runs and embedding maps on the small mock sky."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxysd_core.embedding import MapConfig
from galaxysd_core.embedding.map import compute_map, neighbours, read_map
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
from galaxysd_core.metrics.results import compose_preset, trend


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


ROOT = Path(__file__).resolve().parent.parent


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


@pytest.fixture(scope="module")
def evaluation(mock_sky, tiny_encoder, tmp_path_factory):
    """An evaluation (with sweep) and a PCA map in ``runs/eval-1`` of a fresh workspace.

    The diffusion model is replaced by real images (``_real_images_as_generated``):
    what is under test is the bookkeeping of metrics, references, fronts and maps.
    """
    import galaxysd_core.metrics.evaluate as ev
    from galaxysd_core.paths import workspace

    root = tmp_path_factory.mktemp("evalws")
    ws = workspace(root).ensure()
    model = root / "model"
    model.mkdir()
    (model / "model_index.json").write_text("{}")  # a model folder: one "checkpoint"
    out = ws.runs / "eval-1"
    config = EvaluateConfig(
        run=model, real=mock_sky, encoder=tiny_encoder, prompts=("B", "H"), n_images=6,
        output_dir=out, sweep=True, sweep_prompts=("B",), sweep_guidance=(3.0, 7.0),
        sweep_strength=(0.5,), sweep_steps=(10,), sweep_weight=(1.0,),
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALAXYSD_HOME", str(root))
        mp.delenv("GALAXYSD_DB_URL", raising=False)
        mp.setattr(ev, "load_checkpoint_pipeline", lambda folder, device: None)
        evaluate_run(config, generate_fn=_real_images_as_generated(real_table(mock_sky)))
        compute_map(
            MapConfig(real=mock_sky, run=out, encoder=tiny_encoder, method="pca", max_real=50)
        )
        yield ws, out


def test_evaluate_writes_metrics_reference_rows_and_pareto(evaluation):
    _, out = evaluation
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert set(metrics["mode"]) == {"real-vs-real", "text", "reference"}
    assert set(metrics["prompt"]) == {"B", "H", "ALL"}
    ref = metrics[(metrics["mode"] == "reference") & (metrics["prompt"] == "B")].iloc[0]
    # reference mode here returns the real references themselves: near-exact twins
    # (not exact: the real side is decoded from JPEG at reduced scale)
    assert ref["realism"] == pytest.approx(1.0, abs=1e-3)
    assert 0 <= ref["consistency"] <= 1
    alls = metrics[metrics["prompt"] == "ALL"].set_index("mode")
    per = metrics[(metrics["prompt"] != "ALL")].groupby("mode")["realism"].mean()
    assert alls.loc["text", "realism"] == pytest.approx(per["text"])  # Eq. 2
    pareto = pd.read_parquet(out / "pareto.parquet")
    assert len(pareto) == 2 and pareto["on_front"].any()
    preset = compose_preset(pareto.iloc[0])
    assert preset["prompt"].startswith("sdss") and preset["guidance"] in (3.0, 7.0)
    images = pd.read_parquet(out / "images.parquet")
    assert len(images) == 2 * 2 * 6 + 2 * 6 and all(p.endswith(".png") for p in images["path"])
    lines, reference = trend(metrics, "realism")
    assert set(lines["mode"]) == {"text", "reference"} and reference is not None


def test_map_rows_embeddings_and_neighbours(evaluation):
    _, out = evaluation
    images = pd.read_parquet(out / "images.parquet")
    table, emb = read_map(out)
    assert set(table["source"]) == {"real", "generated"}
    assert len(table) == 50 + len(images) and emb.shape == (len(table), 16)
    assert table[["x", "y"]].notna().all().all()
    row = int(np.flatnonzero(table["source"] == "generated")[0])
    near = neighbours(table, emb, row, k=3)
    assert len(near) == 3 and (near["source"] == "real").all()
    assert near["similarity"].is_monotonic_decreasing


@pytest.mark.parametrize("page", ["metrics.py", "embedding_map.py"])
def test_pages_render_results(evaluation, page):
    from streamlit.testing.v1 import AppTest

    ws, _ = evaluation
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALAXYSD_HOME", str(ws.root))
        mp.delenv("GALAXYSD_DB_URL", raising=False)
        mp.syspath_prepend(str(ROOT))
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.get("plotly_chart"), "no chart drawn"


def test_evaluate_bad_runs(tmp_path, ws):
    with pytest.raises(ConfigError, match="no checkpoints"):
        evaluate_run(EvaluateConfig(run=tmp_path, output_dir=tmp_path / "o"))
    with pytest.raises(ConfigError, match="unknown Table 1 prompt"):
        EvaluateConfig.from_dict({"run": str(tmp_path), "prompts": ["Z"]})
    with pytest.raises(ConfigError, match="method must be one of"):
        MapConfig.from_dict({"method": "mds"})
