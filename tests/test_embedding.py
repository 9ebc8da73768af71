"""SimCLR encoder: views, NT-Xent, a tiny training run with checkpoints/resume, streaming embed."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from galaxysd_core.embedding import SimCLRConfig
from galaxysd_core.embedding.model import (
    Encoder,
    EncoderSpec,
    embed,
    galaxy_views,
    load_encoder,
    nt_xent,
    save_encoder,
)
from galaxysd_core.embedding.train import train_simclr
from galaxysd_core.errors import Cancelled, ConfigError, ImageReadError, ModelFolderError
from galaxysd_core.progress import Progress

TINY = {"image_size": 32, "depths": (1, 1), "hidden_sizes": (8, 16), "embedding_size": 8}


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def test_nt_xent_rewards_matching_views():
    torch.manual_seed(0)
    z = torch.randn(8, 4)
    matched = nt_xent(z, z.clone())
    shuffled = nt_xent(z, z[torch.randperm(8)])
    assert matched < shuffled
    # with orthogonal, identical views the positive logit is 1/tau and every negative 0
    eye = torch.eye(4)
    expected = -math.log(math.exp(2) / (math.exp(2) + 6))
    assert float(nt_xent(eye, eye, temperature=0.5)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="two equal batches"):
        nt_xent(z[:1], z[:1])


def test_views_keep_shape_range_and_are_reproducible():
    x = torch.rand(4, 3, 32, 32)
    a = galaxy_views(x, generator=torch.Generator().manual_seed(1))
    b = galaxy_views(x, generator=torch.Generator().manual_seed(1))
    c = galaxy_views(x, generator=torch.Generator().manual_seed(2))
    assert a.shape == x.shape and float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_tiny_training_checkpoints_resume_and_embed(image_folder, tmp_path):
    config = SimCLRConfig(
        data=image_folder, output_dir=tmp_path / "run", steps=2, batch_size=4, save_every=1,
        keep_checkpoints=2, **TINY,
    )  # fmt: skip
    folder = train_simclr(config)
    names = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert names == ["checkpoint-1", "checkpoint-2"]
    resumed = SimCLRConfig.from_dict({**config.to_dict(), "steps": 3, "resume": "latest"})
    folder = train_simclr(resumed)
    meta = json.loads((folder / "config.json").read_text())
    assert meta["step"] == 3
    names = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert names == ["checkpoint-2", "checkpoint-3"]  # retention keeps the newest two

    encoder = load_encoder(folder)
    paths = sorted(image_folder.iterdir())
    streamed = embed((str(p) for p in paths), encoder=encoder, batch_size=5)  # a generator
    assert streamed.shape == (12, 16) and streamed.dtype == np.float32
    arrays = [np.asarray(Image.open(p)) for p in paths[:3]]
    np.testing.assert_allclose(
        embed(arrays, encoder=encoder, batch_size=2), streamed[:3], atol=1e-5
    )
    assert embed(iter(()), encoder=encoder).shape == (0, 16)


def test_bad_inputs(image_folder, tmp_path):
    with pytest.raises(ConfigError, match="data"):
        SimCLRConfig.from_dict({})
    with pytest.raises(ConfigError, match="batch_size must be >= 2"):
        SimCLRConfig.from_dict({"data": str(image_folder), "batch_size": 1})
    with pytest.raises(ImageReadError, match="no PNG/JPEG"):
        train_simclr(SimCLRConfig(data=tmp_path, output_dir=tmp_path / "o", **TINY))
    with pytest.raises(ModelFolderError, match="not an encoder folder"):
        load_encoder(tmp_path)
    encoder = Encoder(
        EncoderSpec(**{k: list(v) if isinstance(v, tuple) else v for k, v in TINY.items()})
    )
    with pytest.raises(ImageReadError, match="cannot read image"):
        embed([str(tmp_path / "missing.png")], encoder=encoder)


def test_tag_frame_prefers_answer_columns():
    import pandas as pd

    from galaxysd_core.gz2.folders import tag_frame

    truth = pd.DataFrame(
        {
            "t03_bar_a06_bar": [True, False],
            "bar": [False, False],
            "ring": [True, False],
            "x": [1, 2],
        }
    )
    tags = tag_frame(truth)
    assert list(tags.columns) == ["bar", "ring"]
    assert tags["bar"].tolist() == [True, False]


def test_demo_encoder_embeds_and_beats_random_init(mock_sky):
    from galaxysd_core.paths import DEMO_ENCODER

    if not (DEMO_ENCODER / "model.safetensors").is_file():
        pytest.skip("assets/demo-encoder not built")
    encoder = load_encoder(DEMO_ENCODER)
    assert encoder.spec.hidden_sizes == [64, 128, 256, 512] and encoder.spec.depths == [2, 2, 2, 2]
    paths = sorted((mock_sky / "images").iterdir())[:8]
    x = embed(paths, encoder=encoder, batch_size=4)
    assert x.shape == (8, 512) and np.isfinite(x).all()
    probe = json.loads((DEMO_ENCODER / "probe.json").read_text())
    assert probe["mean_linear"] > 0.5 and probe["mean_knn"] > 0.5  # above chance on mock tags
    # evidence of learnt morphology: both probes beat the same ResNet at random init
    assert probe["mean_linear"] > probe["mean_linear_random_init"]
    assert probe["mean_knn"] > probe["mean_knn_random_init"]
    meta = json.loads((DEMO_ENCODER / "config.json").read_text())
    assert probe["sky"] != meta["data"]  # probed on a held-out sky, not the training one


def test_lr_schedule_warms_up_then_decays_to_zero(image_folder):
    from galaxysd_core.embedding.train import lr_at

    config = SimCLRConfig(data=image_folder, steps=110, lr=1e-3, warmup_steps=10, cosine=True)
    assert lr_at(0, config) == pytest.approx(1e-4)
    assert lr_at(9, config) == pytest.approx(1e-3)
    assert lr_at(60, config) == pytest.approx(0.5e-3)  # half way through the cosine
    assert lr_at(110, config) == pytest.approx(0.0, abs=1e-12)
    flat = SimCLRConfig(data=image_folder, steps=110, lr=1e-3)
    assert lr_at(0, flat) == lr_at(109, flat) == 1e-3
    with pytest.raises(ConfigError, match="warmup_steps"):
        SimCLRConfig.from_dict({"data": str(image_folder), "warmup_steps": -1})


def test_probe_encoder_compares_with_random_init(mock_sky, tmp_path):
    from galaxysd_core.embedding.model import save_encoder
    from galaxysd_core.embedding.probe import probe_encoder

    spec = EncoderSpec(image_size=32, depths=[1, 1], hidden_sizes=[8, 16], embedding_size=8)
    torch.manual_seed(3)
    save_encoder(Encoder(spec), tmp_path / "enc")
    tags = ("features_or_disk", "edge_on")
    # the "trained" encoder is the random init of seed 3, so both columns agree exactly
    same = probe_encoder(tmp_path / "enc", mock_sky, tags=tags, folds=3, seed=3)
    assert [r["tag"] for r in same["rows"]] == list(tags) and same["galaxies"] == 400
    assert same["mean_linear"] == same["mean_linear_random_init"]
    assert same["mean_knn"] == same["mean_knn_random_init"]
    assert 0.5 < same["rows"][0]["linear_bacc"] <= 1.0  # a random ResNet sees disks already
    seen: list[tuple[int, int]] = []

    class Recorder(Progress):
        def update(self, step: int, total: int, **logs) -> None:
            seen.append((step, total))

    other = probe_encoder(
        tmp_path / "enc", mock_sky, tags=tags, folds=3, seed=4, progress=Recorder()
    )
    assert other["mean_linear"] != other["mean_linear_random_init"]
    # both encoders embed all 400 galaxies, counted batch by batch, ending at the total
    assert seen[-1] == (800, 800) and len(seen) > 4
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)

    class StopAtOnce(Progress):
        def should_stop(self) -> bool:
            return True

    with pytest.raises(Cancelled):
        probe_encoder(tmp_path / "enc", mock_sky, tags=tags, progress=StopAtOnce())
    with pytest.raises(ImageReadError, match=r"truth\.parquet"):
        probe_encoder(tmp_path / "enc", tmp_path, tags=tags)


def test_fine_tuning_starts_from_the_given_encoder(image_folder, tmp_path):
    torch.manual_seed(5)
    start = save_encoder(
        Encoder(EncoderSpec(**{**TINY, "depths": [1, 1], "hidden_sizes": [8, 16]})),
        tmp_path / "start",
    )
    config = SimCLRConfig(
        data=image_folder, output_dir=tmp_path / "run", steps=1, batch_size=4, lr=1e-9,
        init=start, **TINY,
    )  # fmt: skip
    tuned = load_encoder(train_simclr(config))
    before = load_encoder(start)
    for (name, a), b in zip(before.state_dict().items(), tuned.state_dict().values(), strict=True):
        if a.is_floating_point() and "running" not in name:
            torch.testing.assert_close(a, b, atol=1e-6, rtol=0)  # one step of lr 1e-9


def test_randomised_views_stay_in_range_and_reproducible():
    x = torch.rand(6, 3, 32, 32) * 0.3
    a = galaxy_views(x, generator=torch.Generator().manual_seed(1), randomise=True)
    b = galaxy_views(x, generator=torch.Generator().manual_seed(1), randomise=True)
    assert a.shape == x.shape and torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1


def test_probe_reads_a_prepared_datasets_tags(mock_sky, tmp_path):
    from galaxysd_core.embedding.model import save_encoder
    from galaxysd_core.embedding.probe import probe_encoder
    from galaxysd_core.gz2 import PrepareConfig, prepare_dataset

    prepared = prepare_dataset(PrepareConfig.from_sky(mock_sky, out=tmp_path / "ds"))
    spec = EncoderSpec(image_size=32, depths=[1, 1], hidden_sizes=[8, 16], embedding_size=8)
    save_encoder(Encoder(spec), tmp_path / "enc")
    out = probe_encoder(tmp_path / "enc", prepared, tags=("features_or_disk", "no_such"), folds=3)
    assert [r["tag"] for r in out["rows"]] == ["features_or_disk"]  # unseen tags are skipped
    assert "catalogue tags" in out["note"] and 0 <= out["mean_linear"] <= 1
