"""Catalogue scoring (resumable, multi-process) and a 2-round mini campaign."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from galaxysd_core.classify.model import ClassifierConfig, GalaxyClassifier
from galaxysd_core.discovery import RoundConfig, run_round
from galaxysd_core.discovery.campaign import CampaignError
from galaxysd_core.discovery.results import export_catalogue, final_catalogue, round_report
from galaxysd_core.discovery.scoring import read_scores, score_catalog
from galaxysd_core.discovery.simulated import SimulatedPanel, render_stand_ins
from galaxysd_core.errors import Cancelled, CatalogError
from galaxysd_core.gz2.folders import catalog_items, read_truth
from galaxysd_core.progress import Progress


class StopAfter(Progress):
    """Requests a stop after ``n`` updates (like a STOP file appearing mid-run)."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def update(self, step: int, total: int, **logs) -> None:
        self.seen += 1

    def should_stop(self) -> bool:
        return self.seen >= self.n


@pytest.fixture(scope="module")
def tiny_clf(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clf") / "clf"
    cfg = ClassifierConfig(arch="tiny", image_size=32)
    GalaxyClassifier(cfg).save(folder)
    return folder


def test_scoring_resumes_to_identical_scores(mock_sky, tiny_clf, tmp_path):
    items = catalog_items(mock_sky).head(100)
    full = score_catalog(tiny_clf, items, tmp_path / "full", chunk_size=16)
    with pytest.raises(Cancelled):
        score_catalog(tiny_clf, items, tmp_path / "cut", chunk_size=16, progress=StopAfter(3))
    assert len(list((tmp_path / "cut" / "chunks").glob("*.parquet"))) == 3
    with pytest.raises(CatalogError, match="has not finished"):
        read_scores(tmp_path / "cut")
    resumed = score_catalog(tiny_clf, items, tmp_path / "cut", chunk_size=16)
    pd.testing.assert_frame_equal(full, resumed)
    assert full["ok"].all() and len(full) == 100
    assert read_scores(tmp_path / "cut")["object_id"].tolist() == items["object_id"].tolist()


def test_unreadable_image_is_counted_not_fatal(mock_sky, tiny_clf, tmp_path):
    items = catalog_items(mock_sky).head(10).copy()
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    items.loc[3, "path"] = str(bad)
    scores = score_catalog(tiny_clf, items, tmp_path / "s", chunk_size=4)
    assert scores["ok"].sum() == 9 and np.isnan(scores.loc[3, "score"])
    with pytest.raises(CatalogError, match="empty"):
        score_catalog(tiny_clf, items.head(0), tmp_path / "e")


@pytest.mark.slow
def test_scoring_with_two_processes_matches_one(mock_sky, tiny_clf, tmp_path):
    items = catalog_items(mock_sky).head(60)
    items.to_parquet(tmp_path / "items.parquet")
    one = score_catalog(tiny_clf, items, tmp_path / "one", chunk_size=8)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "galaxysd_core.cli", "discover", "score", str(tiny_clf)]
    cmd += [str(tmp_path / "items.parquet"), str(tmp_path / "two"), "--chunk-size", "8"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    two = read_scores(tmp_path / "two")
    np.testing.assert_allclose(two["score"], one["score"], atol=1e-6)


def test_two_round_campaign_with_simulated_panel(ws, mock_sky, tmp_path):
    from galaxysd_core.review import ReviewStore

    synthetic = tmp_path / "synthetic"
    render_stand_ins(synthetic, n=12, size=64)
    cfg = RoundConfig(
        campaign="mini",
        sky=str(mock_sky),
        synthetic_dir=str(synthetic),
        n_synthetic=12,
        n_negatives=60,
        top_k=8,
        min_score=0.0,
        classifier=ClassifierConfig(arch="tiny", image_size=32, epochs=2, lr=3e-3),
        chunk_size=128,
    )
    state0 = run_round(cfg)
    assert state0["round"] == 0 and state0["candidates"] == 8
    with pytest.raises(CampaignError, match="round-0 of campaign 'mini' is not decided"):
        run_round(cfg)
    store = ReviewStore()
    truth = read_truth(mock_sky)
    # Reviewers who always say yes to everything: all 8 candidates accepted.
    panel = SimulatedPanel(store, truth, false_negative=(0, 0, 0), false_positive=(1, 1, 1))
    panel.vote_round(state0["review_round_id"])
    state1 = run_round(cfg)
    assert state1["round"] == 1
    assert state1["n_positive"] == 12 + 8  # synthetic + accepted real galaxies
    round1 = pd.read_csv(ws.campaigns / "mini" / "round-1" / "candidates.csv", dtype=str)
    round0 = pd.read_csv(ws.campaigns / "mini" / "round-0" / "candidates.csv", dtype=str)
    assert not set(round1["object_id"]) & set(round0["object_id"])  # never re-reviewed
    # A truthful panel rejects everything that is not a D-ETG.
    SimulatedPanel(store, truth, false_positive=(0, 0, 0), prefix="truthful").vote_round(
        state1["review_round_id"]
    )
    report = round_report("mini", store)
    assert report["round"].tolist() == [0, 1]
    assert report.loc[0, "accepted"] == 8
    assert report.loc[0, "accepted_purity"] == report.loc[0, "candidate_purity"]
    assert 0 <= report.loc[1, "recall_candidates"] <= 1
    for kept in ("scores/DONE", "model/model.safetensors", "votes.csv", "train.csv"):
        assert (ws.campaigns / "mini" / "round-0" / kept).exists()
    table = final_catalogue("mini", store)
    assert len(table) >= 8 - 1  # round 0's acceptances minus at most the 1 known D-ETG
    csv_path = export_catalogue("mini", store, fmt="csv")
    fits_path = export_catalogue("mini", store, fmt="fits")
    from astropy.table import Table

    fits = Table.read(fits_path)
    assert len(fits) == len(table) == len(pd.read_csv(csv_path))
    assert {"object_id", "ra", "dec", "score", "round", "votes", "consensus"} <= set(fits.colnames)
    # Accepted means >= 2 of 3 yes, and the votes column says so.
    assert all(v in ("2/3 yes", "3/3 yes") for v in fits["votes"])
    assert (fits["yes"] >= 2).all() and set(fits["consensus"]) == {"accepted"}


def test_round_cut_off_after_opening_its_review_reuses_that_review(ws, mock_sky, tmp_path):
    from galaxysd_core.review import ReviewStore

    synthetic = tmp_path / "synthetic"
    render_stand_ins(synthetic, n=6, size=64)
    cfg = RoundConfig(campaign="cut", sky=str(mock_sky), synthetic_dir=str(synthetic),
                      n_synthetic=6, n_negatives=40, top_k=5, min_score=0.0, chunk_size=256,
                      classifier=ClassifierConfig(arch="tiny", image_size=32, epochs=1))  # fmt: skip
    state = run_round(cfg)
    # As if the process died after the review round opened, before round.json.
    (ws.campaigns / "cut" / "round-0" / "round.json").unlink()
    assert run_round(cfg) == state
    assert len(ReviewStore().rounds()) == 1  # no second copy of the queue for people


def test_match_sky_gives_only_the_synthetic_rows_the_catalogue_sky(mock_sky, tmp_path):
    import torch
    from PIL import Image

    from galaxysd_core.classify.skymatch import sky_statistics
    from galaxysd_core.discovery.campaign import training_images

    clean = []
    for i in range(4):  # a generated-looking galaxy: bright core, perfectly black sky
        pixels = np.zeros((64, 64, 3), dtype=np.uint8)
        pixels[28:36, 28:36] = 150 + 10 * i
        clean.append(tmp_path / f"gen-{i}.png")
        Image.fromarray(pixels).save(clean[-1])
    real = catalog_items(mock_sky)["path"].tolist()[:12]
    train = pd.DataFrame(
        {
            "path": [str(p) for p in clean] + real,
            "label": [1] * 4 + [0] * 12,
            "source": ["synthetic"] * 4 + ["random"] * 12,
        }
    )
    plain = training_images(RoundConfig(campaign="c", match_sky=False), train)
    matched = training_images(RoundConfig(campaign="c", match_sky=True), train)
    assert torch.equal(plain[4:], matched[4:])  # catalogue galaxies untouched
    assert sky_statistics(plain[:4])[:, 1].max() == 0  # the clean sky a classifier could learn
    sky_real = np.median(sky_statistics(plain[4:]), axis=0)
    sky_matched = np.median(sky_statistics(matched[:4]), axis=0)
    assert (sky_matched[1] > 0.5 * sky_real[1]).all()  # noise now near the catalogue's
    assert np.abs(sky_matched[0] - sky_real[0]).max() <= 2  # and the same sky level


def test_accepted_positives_are_repeated_to_their_share_and_round0_is_untouched():
    from galaxysd_core.discovery.campaign import weigh_accepted
    from galaxysd_core.errors import ConfigError

    sources = np.array(["synthetic"] * 40 + ["accepted"] * 4 + ["random"] * 100)
    rows = np.arange(len(sources))
    half = weigh_accepted(sources, rows, 0.5)
    picked = sources[half]
    assert (picked == "accepted").sum() == (picked == "synthetic").sum() == 40  # 4 x 10
    assert (picked == "random").sum() == 100 and np.all(np.diff(half) >= 0)
    only_real = sources[weigh_accepted(sources, rows, 1.0)]
    assert "synthetic" not in only_real and (only_real == "accepted").sum() == 4
    np.testing.assert_array_equal(weigh_accepted(sources, rows, 0.0), rows)
    round0 = np.array(["synthetic"] * 40 + ["random"] * 100)
    np.testing.assert_array_equal(weigh_accepted(round0, rows[:140], 1.0), rows[:140])
    with pytest.raises(
        ConfigError, match=r"RoundConfig\.accepted_share: must be in \[0, 1\], got 1.5"
    ):
        RoundConfig(campaign="c", accepted_share=1.5).validate()
