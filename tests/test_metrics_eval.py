"""Feature classifiers, evaluation runs and embedding maps on the small mock sky."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from galaxysd_core.embedding import MapConfig
from galaxysd_core.embedding.map import compute_map, neighbours, read_map
from galaxysd_core.embedding.model import Encoder, EncoderSpec, save_encoder
from galaxysd_core.errors import ConfigError, ModelFolderError
from galaxysd_core.gz2.folders import real_table
from galaxysd_core.metrics import EvaluateConfig, FeatureClassifierConfig
from galaxysd_core.metrics.evaluate import evaluate_run
from galaxysd_core.metrics.feature_cnn import DEFAULT_FOLDER, CNNSpec, FeatureCNN, load_feature_cnn
from galaxysd_core.metrics.feature_training import (
    best_threshold,
    choose_thresholds,
    masked_bce,
    random_dihedral,
    train_feature_classifiers,
    train_feature_cnn,
    validation_split,
)
from galaxysd_core.metrics.features import FEATURES, feature_labels, prompt_answers, tag_targets
from galaxysd_core.metrics.results import compose_preset, trend

#: A CNN small enough to train on the 400-galaxy mock sky in seconds.
TINY_CNN = {
    "image_size": 64,  # the mock sky's own size: paths and PIL images give the same pixels
    "depths": (1, 1),
    "hidden_sizes": (8, 16),
    "embedding_size": 8,
    "epochs": 2,
    "batch_size": 32,
}


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    """An untrained small encoder: the plumbing, not the quality, is under test."""
    import torch

    torch.manual_seed(0)
    spec = EncoderSpec(image_size=32, depths=[1, 1], hidden_sizes=[8, 16], embedding_size=8)
    return save_encoder(Encoder(spec).eval(), tmp_path_factory.mktemp("enc") / "encoder")


@pytest.fixture(scope="module")
def tiny_classifiers(tmp_path_factory, mock_sky):
    """Feature classifiers trained on the mock sky by the job's entry point."""
    out = tmp_path_factory.mktemp("fc") / "classifiers"
    return train_feature_classifiers(
        FeatureClassifierConfig(data=mock_sky, output_dir=out, **TINY_CNN)
    )


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


def test_feature_labels_follow_the_gz2_path(mock_sky):
    truth = pd.read_parquet(mock_sky / "truth.parquet")
    labels, asked = feature_labels(truth)
    assert list(labels.columns) == [f.name for f in FEATURES]
    # the bar question is asked only of face-on disks
    assert not asked.loc[truth["t01_smooth_or_features_a01_smooth"], "bar"].any()


def test_trained_classifiers_load_and_predict(mock_sky, tiny_classifiers, tmp_path):
    import json

    meta = json.loads((tiny_classifiers / "feature_classifiers.json").read_text())
    assert meta["architecture"]["hidden_sizes"] == [8, 16]
    assert meta["training"]["galaxies"] == 400 and meta["training"]["sky"]["seed"] == 0
    report = meta["report"]
    assert set(report) == {f.name for f in FEATURES}
    scored = [r["val_balanced_accuracy"] for r in report.values() if r["val_balanced_accuracy"]]
    assert scored and all(0 <= b <= 1 for b in scored)
    cnn = load_feature_cnn(tiny_classifiers)
    paths = sorted((mock_sky / "images").iterdir())[:5]
    pred = cnn.predict([str(p) for p in paths])
    assert pred.shape == (5, 11) and pred.dtype == bool
    # in-memory PIL images (as evaluate hands over generated ones) give the same answers
    images = [Image.open(p).convert("RGB") for p in paths]
    assert np.array_equal(cnn.predict(images), pred)
    with pytest.raises(ConfigError, match=r"truth\.parquet.*metadata\.jsonl"):
        train_feature_classifiers(FeatureClassifierConfig(data=tmp_path, output_dir=tmp_path))
    # any input size: a generator's 128 px images and 424 px cutouts are resampled to 64
    big = [im.resize((128, 128)) for im in images] + [images[0].resize((424, 424))]
    assert cnn.predict(big).shape == (6, 11) and cnn.predict(big).dtype == bool
    tensor = torch.from_numpy(np.stack([np.asarray(i) for i in big[:5]])).permute(0, 3, 1, 2)
    assert cnn.predict(tensor).shape == (5, 11)


def test_zoomed_view_is_the_enlarged_centre_and_survives_save(tmp_path):
    import torch

    small = {"image_size": 16, "depths": (1,), "hidden_sizes": (4,), "embedding_size": 4}
    cnn = FeatureCNN(CNNSpec(**small, zoom=2))
    images = torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8)
    x = cnn.normalise(images)
    assert x.shape == (3, 6, 16, 16)
    assert torch.equal(x[:, :3], FeatureCNN(CNNSpec(**small)).normalise(images))
    # Channels 3-5 hold pixels 4..11 (the central half) enlarged twice.
    centre = x[:, :3, 4:12, 4:12]
    assert torch.allclose(torch.nn.functional.avg_pool2d(x[:, 3:], 2), centre, atol=0.35)
    # A rotation of the galaxy rotates both views alike, so dihedral augmentation
    # of the stacked input is the input of the rotated galaxy.
    assert torch.allclose(cnn.normalise(images.rot90(1, (2, 3))), x.rot90(1, (2, 3)), atol=1e-5)
    cnn.model.eval()
    before = cnn.predict_proba(images)
    back = load_feature_cnn(cnn.save(tmp_path / "zoomed"))
    assert back.spec.zoom == 2 and back.spec.channels == 6
    assert np.allclose(back.predict_proba(images), before, atol=5e-3)  # fp16 weights on disk


def test_masked_loss_ignores_questions_not_asked():
    import torch

    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 11, generator=gen)
    labels = torch.rand(6, 11, generator=gen) < 0.5
    asked = torch.rand(6, 11, generator=gen) < 0.5
    weight = torch.full((11,), 3.0)
    loss = masked_bce(logits, labels, asked, pos_weight=weight)
    flipped_unasked = torch.where(asked, labels, ~labels)
    assert masked_bce(logits, flipped_unasked, asked, pos_weight=weight) == loss
    flipped_asked = torch.where(asked, ~labels, labels)
    assert masked_bce(logits, flipped_asked, asked, pos_weight=weight) != loss
    # the positive weight counts: the same entries without it give another loss
    assert masked_bce(logits, labels, asked) != loss
    assert masked_bce(logits, labels, torch.zeros_like(asked)) == 0


def test_thresholds_maximise_balanced_accuracy_on_validation(mock_sky):
    from galaxysd_core.images import load_images

    probs = np.array([0.9, 0.8, 0.35, 0.3, 0.2, 0.1])
    labels = np.array([True, True, True, False, False, False])
    cut, bacc = best_threshold(probs, labels)
    assert 0.3 < cut < 0.35 and bacc == 1.0  # not the default 0.5, which misses one
    # the trained model's thresholds are the ones its validation split gives
    truth = pd.read_parquet(mock_sky / "truth.parquet")
    labels, asked = (t.to_numpy() for t in feature_labels(truth))
    images, _ = load_images(
        [mock_sky / "images" / f"{a}.jpg" for a in truth["asset_id"]], TINY_CNN["image_size"]
    )
    # without domain randomisation the cuts come from the clean validation split alone
    config = FeatureClassifierConfig(**{**TINY_CNN, "epochs": 1, "randomise": False})
    cnn = train_feature_cnn(images, labels, asked, config=config)
    _, val = validation_split(len(truth), config.val_fraction, seed=config.seed)
    assert cnn.meta["training"]["n_val"] == len(val)
    expected, _ = choose_thresholds(cnn.predict_proba(images[val]), labels[val], asked[val])
    np.testing.assert_allclose(cnn.thresholds, expected)
    assert not np.allclose(cnn.thresholds, 0.5)


def test_random_dihedral_keeps_pixels():
    import torch

    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    out = random_dihedral(x, generator=torch.Generator().manual_seed(1))
    for a, b in zip(x, out, strict=True):
        variants = [torch.rot90(v, k, dims=(-2, -1)) for v in (a, a.flip(-1)) for k in range(4)]
        assert any(torch.equal(b, v) for v in variants)


def test_missing_or_broken_classifiers_name_the_folder_and_command(tmp_path, tiny_classifiers):
    import shutil

    with pytest.raises(ModelFolderError, match=r"nowhere.*galaxysd feature-classifiers"):
        load_feature_cnn(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_classifiers, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelFolderError, match=r"broken.*galaxysd feature-classifiers"):
        load_feature_cnn(broken)
    model = tmp_path / "model"
    model.mkdir()
    (model / "model_index.json").write_text("{}")
    config = EvaluateConfig(
        run=model, feature_classifiers=tmp_path / "nowhere", output_dir=tmp_path / "out"
    )
    with pytest.raises(ModelFolderError, match="nowhere"):
        evaluate_run(config)


def test_shipped_classifiers_load_and_record_their_accuracy(mock_sky):
    import json

    if not (DEFAULT_FOLDER / "model.safetensors").is_file():
        pytest.skip("assets/feature-classifiers not built")
    meta = json.loads((DEFAULT_FOLDER / "feature_classifiers.json").read_text())
    report = meta["report"]
    assert all(report[f.name]["val_balanced_accuracy"] > 0.5 for f in FEATURES)
    assert meta["training"]["sky"]["seed"] not in (0, 1)  # not the demo or experiment sky
    paths = [str(p) for p in sorted((mock_sky / "images").iterdir())[:4]]
    assert load_feature_cnn(DEFAULT_FOLDER).predict(paths).shape == (4, 11)


def _real_images_as_generated(real: pd.DataFrame):
    """A stand-in generator that returns real galaxies carrying the prompt's tags."""

    def generate(pipeline, prompt, *, n, seed, references, **_settings):
        if references is not None:
            return [Image.open(p).convert("RGB") for p in references]
        return [Image.open(p).convert("RGB") for p in real["path"].iloc[seed : seed + n]]

    return generate


@pytest.fixture(scope="module")
def evaluation(mock_sky, tiny_encoder, tiny_classifiers, tmp_path_factory):
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
        run=model, real=mock_sky, encoder=tiny_encoder, feature_classifiers=tiny_classifiers,
        prompts=("B", "H"), n_images=6, max_real=60, train=mock_sky, max_train=200,
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
    real = metrics[metrics["mode"] == "real-vs-real"].set_index("prompt")
    assert real.loc[["B", "H"], "consistency"].between(0, 1).all()
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


def test_evaluate_writes_physical_judges_and_copy_check(evaluation):
    _, out = evaluation
    metrics = pd.read_parquet(out / "metrics.parquet")
    rows = metrics[metrics["prompt"] != "ALL"].set_index(["prompt", "mode"])
    # every row carries the physical distance with its interval, real-vs-real included
    assert rows["physical"].notna().all() and (rows["physical_low"] <= rows["physical"]).all()
    # "reference" mode returns the real references: their morphology is the real one's
    assert rows.loc[("B", "reference"), "physical"] < 0.5
    # "reference" images are held-out galaxies: never closer to training than held-out ones;
    # "text" images are the sky's first rows, most of them training images: exact copies found
    assert (rows.xs("reference", level="mode")[["copy_pixel", "copy_embedding"]] == 0).all().all()
    images = pd.read_parquet(out / "images.parquet")
    text = images[(images["mode"] == "text") & (images["prompt"] == "B")]
    # near-exact: PNG written, JPEG training image decoded at another scale (distance ~0.01)
    near = (text["pixel_distance"] < 0.05).mean()
    assert near > 0 and rows.loc[("B", "text"), "copy_pixel"] >= near
    morph = pd.read_parquet(out / "morphology.parquet")
    assert {"real", "text", "reference"} <= set(morph["mode"].replace("real-vs-real", "real"))
    assert morph[["gini", "flag", "reason", "prompt", "path"]].notna().all().all()
    dist = pd.read_parquet(out / "morphology_distances.parquet")
    assert {"statistic", "distance", "low", "high", "prompt", "mode"} <= set(dist.columns)
    assert set(dist["mode"]) == {"real-vs-real", "text", "reference"}
    pairs = pd.read_parquet(out / "closest_pairs.parquet")
    assert set(pairs["space"]) == {"pixel", "embedding"}
    assert pairs.groupby("space")["distance"].apply(lambda d: d.is_monotonic_increasing).all()
    assert pairs["copy"].any()
    assert images[["pixel_distance", "embedding_distance"]].notna().all().all()


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


def test_reference_starts_come_from_the_named_pool(
    mock_sky, tiny_encoder, tiny_classifiers, tmp_path
):
    """``reference_pool`` keeps every start apart from the real images compared against."""
    import json
    import shutil

    import galaxysd_core.metrics.evaluate as ev
    from galaxysd_core.gz2.prompts import TABLE1_PROMPTS
    from galaxysd_core.paths import workspace

    real = real_table(mock_sky)
    want = set(TABLE1_PROMPTS["B"])
    carrying = real[[want <= set(t) for t in real["tags"]]].iloc[:3]
    pool = tmp_path / "pool"
    pool.mkdir()
    with open(pool / "metadata.jsonl", "w") as fh:
        for i, row in enumerate(carrying.itertuples()):
            shutil.copy(row.path, pool / f"p{i}.png")
            fh.write(json.dumps({"file_name": f"p{i}.png", "text": "", "tags": list(row.tags)}))
            fh.write("\n")
    model = tmp_path / "model"
    model.mkdir()
    (model / "model_index.json").write_text("{}")
    ws = workspace(tmp_path / "ws").ensure()
    config = EvaluateConfig(
        run=model, real=mock_sky, reference_pool=pool, encoder=tiny_encoder,
        feature_classifiers=tiny_classifiers, prompts=("B",), modes=("reference",),
        n_images=4, max_real=40, morphology=False, output_dir=ws.runs / "eval-pool",
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALAXYSD_HOME", str(ws.root))
        mp.delenv("GALAXYSD_DB_URL", raising=False)
        mp.setattr(ev, "load_checkpoint_pipeline", lambda folder, device: None)
        evaluate_run(config, generate_fn=_real_images_as_generated(real))
    images = pd.read_parquet(ws.runs / "eval-pool" / "images.parquet")
    assert len(images) == 4
    assert {Path(p).parent for p in images["reference"]} == {pool}


def test_evaluate_bad_runs(tmp_path, ws):
    with pytest.raises(ConfigError, match="no checkpoints"):
        evaluate_run(EvaluateConfig(run=tmp_path, output_dir=tmp_path / "o"))
    with pytest.raises(ConfigError, match="unknown Table 1 prompt"):
        EvaluateConfig.from_dict({"run": str(tmp_path), "prompts": ["Z"]})
    with pytest.raises(ConfigError, match="0 <= LOW < HIGH"):
        EvaluateConfig.from_dict(
            {"run": str(tmp_path), "modes": ["text"], "guidance_interval": [700, 600]}
        )
    with pytest.raises(ConfigError, match="method must be one of"):
        MapConfig.from_dict({"method": "mds"})


def test_tag_targets_know_a_no_from_the_gz2_path():
    names = [f.name for f in FEATURES]
    labels, known = tag_targets([("smooth", "completely_round"), ("spiral", "loose_arms")])
    row = dict(zip(names, zip(labels[0], known[0], strict=True), strict=True))
    # an elliptical has no bar: a known "no" for the joint target ...
    assert row["bar"] == (False, True) and row["completely_round"] == (True, True)
    assert row["ring"] == (False, False)  # "something odd?" was not answered: unknown
    spiral = dict(zip(names, zip(labels[1], known[1], strict=True), strict=True))
    assert spiral["tight_arms"] == (False, True) and spiral["spiral"] == (True, True)
    assert spiral["bar"] == (False, False)  # the bar question had no well-sampled answer
    # ... but unknown for the conditional one (the bar question is not asked of it)
    _, cond = tag_targets([("smooth", "completely_round")], joint=False)
    assert not cond[0, names.index("bar")] and cond[0, names.index("completely_round")]
    with pytest.raises(ConfigError, match="no_such_tag"):
        tag_targets([("no_such_tag",)])


def test_classifiers_train_from_a_prepared_datasets_votes(mock_sky, tmp_path):
    import json

    from galaxysd_core.gz2 import PrepareConfig, prepare_dataset
    from galaxysd_core.metrics.feature_training import training_targets

    prepared = prepare_dataset(PrepareConfig.from_sky(mock_sky, out=tmp_path / "ds"))
    paths, labels, known, source = training_targets(prepared)
    assert source == "votes" and labels.shape == known.shape == (len(paths), 11)
    assert all(p.is_file() for p in paths) and not (labels & ~known).any()
    # the votes agree with the truth where they decide
    truth_paths, truth_labels, _, _ = training_targets(mock_sky)
    row = {p.name: i for i, p in enumerate(truth_paths)}
    same = truth_labels[[row[p.name] for p in paths]]
    assert (same[known] == labels[known]).mean() > 0.9
    out = train_feature_classifiers(
        FeatureClassifierConfig(data=prepared, output_dir=tmp_path / "fc", **TINY_CNN)
    )
    meta = json.loads((out / "feature_classifiers.json").read_text())
    assert meta["training"]["labels_from"] == "votes" and meta["targets"] == "joint"
    assert load_feature_cnn(out).predict([str(p) for p in paths[:3]]).shape == (3, 11)


def test_fine_tuning_keeps_the_starting_classifiers_architecture(
    mock_sky, tiny_classifiers, tmp_path
):
    import json

    out = train_feature_classifiers(
        FeatureClassifierConfig(
            data=mock_sky, output_dir=tmp_path / "ft", init=tiny_classifiers, lr=1e-4,
            **{**TINY_CNN, "hidden_sizes": (4, 4), "epochs": 1},
        )
    )  # fmt: skip
    meta = json.loads((out / "feature_classifiers.json").read_text())
    start = json.loads((tiny_classifiers / "feature_classifiers.json").read_text())
    assert meta["architecture"] == start["architecture"]  # not the config's (4, 4)
    assert "--init" in meta["training"]["command"]
