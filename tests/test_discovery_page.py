"""The Experiments page with AppTest: results table beside the paper, a campaign's
rounds with export buttons, and the found / known / control comparison plots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from galaxysd_core.classify.experiments import summarise
from galaxysd_core.db import database_url
from galaxysd_core.discovery.simulated import SimulatedPanel
from galaxysd_core.gz2.folders import catalog_items, read_truth
from galaxysd_core.review import ReviewStore

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAGE = str(ROOT / "pages" / "experiments.py")


def _seed_campaign(ws, sky: Path) -> None:
    """A decided round 0 as run_round leaves it: files + a review round with votes."""
    items = catalog_items(sky)
    truth = read_truth(sky)
    detg = items[items["object_id"].isin(truth.index[truth["is_detg"]])]
    cands = pd.concat([detg, items.head(6)]).drop_duplicates("object_id").assign(score=0.9)
    folder = ws.campaigns / "page" / "round-0"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"campaign": "page", "sky": str(sky)}))
    cands.to_csv(folder / "candidates.csv", index=False)
    store = ReviewStore(database_url(ws))
    rows = cands.rename(columns={"path": "image"})[["object_id", "image", "score", "ra", "dec"]]
    rid = store.open_round("page", rows.to_dict("records"))
    (folder / "round.json").write_text(json.dumps({"round": 0, "review_round_id": rid}))
    # Reviewers who accept everything, so the comparison has found objects.
    SimulatedPanel(store, truth, false_negative=(0, 0, 0), false_positive=(1, 1, 1)).vote_round(rid)
    store.dispose()


def test_experiments_page(ws, mock_sky):
    rng = np.random.default_rng(0)
    y = rng.random(200) < 0.2
    results = pd.DataFrame({"arm": ["baseline"], "f1": [0.5]})
    summary = summarise(results, {"baseline": ([y], [y ^ (rng.random(200) < 0.1)])},
                        task="disk", n_boot=50)  # fmt: skip
    (ws.runs / "r1").mkdir(parents=True)
    summary.to_csv(ws.runs / "r1" / "summary.csv", index=False)
    _seed_campaign(ws, mock_sky)

    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert table.loc[0, "paper purity"] == "0.81"  # Table 2, disk baseline
    assert table.loc[0, "purity"].count("[") == 1
    report = at.dataframe[2].value
    assert report.loc[0, "candidates"] >= 6 and report.loc[0, "accepted"] >= 6
    assert {"candidate_purity", "recall_candidates"} <= set(report.columns)
    assert len(at.get("download_button")) == 2
    at.number_input[-1].set_value(50)
    at.button[-1].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) >= 1 + 5  # rounds chart + 1 KDE + 4 CDFs


def test_a_campaign_opened_on_review_shows_on_experiments(ws):
    """A round opened from a CSV (no discovery round folders) is listed with its counts."""
    store = ReviewStore(database_url(ws))
    rows = [{"object_id": f"o{i}", "image": f"{i}.png", "score": 0.5} for i in range(3)]
    store.open_round("from-csv", rows)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("from-csv" in box.options for box in at.selectbox)
    assert not any("No campaign yet" in i.value for i in at.info)
    report = at.dataframe[-1].value
    assert report.to_dict("records") == [
        {"round": 1, "candidates": 3, "decided": 0, "accepted": 0, "rejected": 0}
    ]
    assert any(c.value.startswith("Estimated: ") for c in at.caption)  # the estimate
    store.dispose()
