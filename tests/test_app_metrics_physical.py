"""Metrics and Embedding Map pages (issue 17 item 6, issue 16 item 4) in AppTest.

The evaluation on screen is real where it matters: statmorph measures 16
mock-sky galaxies as "real" and 8 others as "generated", the distance table and
the copy check are computed by the core functions, and the quick-evaluation
button launches a real ``evaluate`` job (it fails fast on a missing sky, which
is what the page's wait-and-refresh must report).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from galaxysd_core.metrics.evaluate import METRIC_COLUMNS
from galaxysd_core.metrics.memorisation import CopyReference
from galaxysd_core.metrics.morphology import distance_table, morphology_table, real_halves

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def physical_ws(tmp_path_factory, mock_sky):
    """A workspace with one single-checkpoint evaluation carrying the physical tables."""
    from galaxysd_core.paths import workspace

    ws = workspace(tmp_path_factory.mktemp("phys") / "ws").ensure()
    out = ws.runs / "eval-phys"
    out.mkdir(parents=True)
    images = sorted((mock_sky / "images").glob("*.jpg"))
    real, gen, train = images[:16], images[16:24], images[24:64]
    real_m = morphology_table(real, workers=1).assign(path=[str(p) for p in real])
    gen_m = morphology_table(gen, workers=1).assign(path=[str(p) for p in gen])
    meta_real = {"checkpoint": "real", "step": np.nan, "mode": "real-vs-real", "prompt": "B"}
    meta_gen = {"checkpoint": "model", "step": 0.0, "mode": "text", "prompt": "B"}
    pd.concat([real_m.assign(**meta_real), gen_m.assign(**meta_gen)]).to_parquet(
        out / "morphology.parquet", index=False
    )
    dist = pd.concat([
        distance_table(*real_halves(real_m), n_boot=20).assign(**meta_real),
        distance_table(real_m, gen_m, n_boot=20).assign(**meta_gen),
    ])  # fmt: skip
    dist.to_parquet(out / "morphology_distances.parquet", index=False)
    copy = CopyReference([str(p) for p in train], [str(p) for p in real])
    records = [{"path": str(p), "prompt": "B"} for p in [*gen, train[0]]]  # train[0]: a copy
    shares = copy.check([*gen, train[0]], records=records)
    pairs = copy.closest_pairs(pd.DataFrame(records), k=4)
    pairs.to_parquet(out / "closest_pairs.parquet")
    scores = dict.fromkeys(METRIC_COLUMNS, 0.5)
    scores.update(precision=np.nan, recall=np.nan, copy_pixel=shares["copy_pixel"])
    pd.DataFrame(
        {"checkpoint": c, "step": s, "prompt": p, "mode": m, **scores}
        for c, s, m in [("real", None, "real-vs-real"), ("model", None, "text")]
        for p in ("B", "ALL")
    ).to_parquet(out / "metrics.parquet", index=False)
    return ws, shares, pairs


def _app(ws, page: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GALAXYSD_HOME", str(ws.root))
    monkeypatch.delenv("GALAXYSD_DB_URL", raising=False)
    monkeypatch.syspath_prepend(str(ROOT))
    return AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)


def test_copy_check_finds_the_planted_training_image(physical_ws):
    _, shares, pairs = physical_ws
    # the 9th "generated" image is a training image itself: distance 0, first pair, a copy;
    # the other 8 are new mock galaxies, each beating all 16 held-out ones by chance ~1/17
    first = pairs.iloc[0]
    assert first["distance"] == pytest.approx(0.0, abs=1e-6) and first["copy"]
    assert Path(first["generated"]).name == Path(first["train"]).name
    assert 1 / 9 <= shares["copy_pixel"] < 0.5


def test_metrics_page_shows_bars_reasons_and_physical_views(physical_ws, monkeypatch):
    ws, _, _ = physical_ws
    at = _app(ws, "metrics.py", monkeypatch).run()
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    specs = [c.proto.spec for c in charts]
    # one checkpoint: bars, not a one-dot line
    assert any('"type":"bar"' in s for s in specs)
    assert not any('"mode":"lines+markers"' in s for s in specs)
    assert any('"type":"box"' in s for s in specs), "no real-vs-generated small multiple"
    captions = " ".join(c.value for c in at.caption)
    assert "precision, recall empty" in captions and "more than k = 5" in captions
    assert "real-vs-real rows" in captions
    tables = [d.value for d in at.dataframe]
    summary = next(t for t in tables if "gini" in t.columns and "mode" in t.columns)
    assert set(summary["mode"]) == {"real-vs-real", "text"}
    assert summary["gini"].str.match(r"\d\.\d{3} \[\d\.\d{3}-\d\.\d{3}\]").all()
    assert "copy?" in captions  # the planted training image is flagged in the gallery


def test_quick_evaluation_launches_and_the_page_reports_its_end(physical_ws, monkeypatch):
    ws, _, _ = physical_ws
    monkeypatch.setenv("GALAXYSD_MAX_HEAVY_JOBS", "1")
    at = _app(ws, "metrics.py", monkeypatch).run()
    launch = next(b for b in at.button if b.label == "Launch quick evaluation")
    at = launch.click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state["metrics_job"]
    from galaxysd_core import jobs

    config = jobs.status(job, workspace=ws)
    assert config["kind"] == "evaluate"
    # the default sky does not exist in this workspace: the job fails fast, and the page,
    # polling, says so without being revisited
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not at.error:
        time.sleep(2)
        at = at.run()
    assert at.error and "ended failed" in at.error[0].value
    assert "metrics_job" not in at.session_state


def test_map_page_contrasts_generated_and_toggles_them_alone(evaluated_ws, monkeypatch):
    ws, _ = evaluated_ws
    at = _app(ws, "embedding_map.py", monkeypatch).run()
    assert not at.exception, [e.value for e in at.exception]
    spec = at.get("plotly_chart")[0].proto.spec
    assert "#E69F00" in spec and "#0072B2" in spec  # generated orange, real blue
    at = at.toggle[0].set_value(True).run()
    spec = at.get("plotly_chart")[0].proto.spec
    assert "#0072B2" not in spec and "of 6 images" in spec
