"""The quiz's core logic: reading the real-image pool and drawing rounds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from galaxysd_core.errors import CatalogError, ConfigError
from galaxysd_core.quiz import N_CHOICES, QuizRound, load_pool, sample_round


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (10, 20, 30)).save(path)


def _prepared(folder: Path, rows: list[tuple[str, list[str]]]) -> Path:
    lines = []
    for name, tags in rows:
        _image(folder / name)
        lines.append(json.dumps({"file_name": name, "text": "sdss", "tags": tags}))
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_pool_from_prepared_dataset_skips_missing_and_untagged(tmp_path):
    folder = _prepared(
        tmp_path / "ds",
        [
            ("a.png", ["spiral", "bar"]),
            ("b.png", ["smooth"]),
            ("c.png", []),
            ("d.png", ["bar"]),
            ("e.png", ["ring"]),
        ],
    )
    (folder / "d.png").unlink()
    pool = load_pool(folder)
    assert [(p.path.name, p.tags) for p in pool] == [
        ("a.png", ("bar", "spiral")),
        ("b.png", ("smooth",)),
        ("e.png", ("ring",)),
    ]


def test_pool_from_mock_sky_truth_maps_prefixes_to_tags(tmp_path):
    folder = tmp_path / "sky"
    for asset in (1, 2, 3):
        _image(folder / "images" / f"{asset}.jpg")
    pd.DataFrame(
        {
            "dr7objid": [10, 20, 30],
            "asset_id": [1, 2, 3],
            "t01_smooth_or_features_a01_smooth": [True, False, True],
            "t08_odd_feature_a38_dust_lane": [True, False, False],
            "t01_smooth_or_features_a02_features_or_disk": [False, True, False],
            "redshift": [0.1, 0.2, 0.3],
        }
    ).to_parquet(folder / "truth.parquet")
    pool = load_pool(folder)
    assert {p.path.name: p.tags for p in pool} == {
        "1.jpg": ("dust_lane", "smooth"),
        "2.jpg": ("features_or_disk",),
        "3.jpg": ("smooth",),
    }


def test_pool_rejects_unknown_layout_and_too_few_images(tmp_path):
    with pytest.raises(CatalogError, match="not a dataset"):
        load_pool(tmp_path)
    folder = _prepared(tmp_path / "ds", [("a.png", ["bar"]), ("b.png", ["bar"])])
    with pytest.raises(CatalogError, match="has 2 tagged images"):
        load_pool(folder)
    (folder / "metadata.jsonl").write_text('{"file_name": "a.png", "tags": ["bar"]}\n{oops\n')
    with pytest.raises(CatalogError, match="line 2 is malformed"):
        load_pool(folder)


def test_pool_refuses_file_names_leading_out_of_the_dataset(tmp_path):
    _image(tmp_path / "outside.png")
    folder = _prepared(tmp_path / "ds", [(f"{i}.png", ["bar"]) for i in range(3)])
    with (folder / "metadata.jsonl").open("a") as handle:
        handle.write(json.dumps({"file_name": "../outside.png", "tags": ["bar"]}) + "\n")
    with pytest.raises(CatalogError, match=r"'\.\./outside\.png' points outside"):
        load_pool(folder)


def test_round_prefers_real_images_with_the_anchor_tags(tmp_path):
    rows = [(f"s{i}.png", ["smooth", "completely_round"]) for i in range(3)]
    rows += [(f"p{i}.png", ["spiral", "bar"]) for i in range(3)]
    pool = load_pool(_prepared(tmp_path / "ds", rows))
    for seed in range(20):
        rnd = sample_round(pool, seed=seed)
        assert len(rnd.real) == N_CHOICES - 1
        assert len(set(rnd.real)) == N_CHOICES - 1
        group = "s" if "smooth" in rnd.tags else "p"
        # With three exact matches available, every real image shares the tags.
        assert all(p.name.startswith(group) for p in rnd.real)
        assert 0 <= rnd.generated_index < N_CHOICES


def test_round_is_reproducible_and_positions_vary(tmp_path):
    pool = load_pool(_prepared(tmp_path / "ds", [(f"{i}.png", ["bar"]) for i in range(6)]))
    assert sample_round(pool, seed=3) == sample_round(pool, seed=3)
    positions = {sample_round(pool, seed=s).generated_index for s in range(40)}
    assert positions == set(range(N_CHOICES))


def test_round_choices_scoring_and_round_trip(tmp_path):
    rnd = QuizRound(
        tags=("bar",), real=(Path("a"), Path("b"), Path("c")), generated_index=2, seed=7
    )
    assert rnd.choices("gen.png") == [Path("a"), Path("b"), Path("gen.png"), Path("c")]
    assert rnd.is_correct(2) and not rnd.is_correct(0)
    with pytest.raises(ConfigError, match="got 4"):
        rnd.is_correct(4)
    assert QuizRound.from_dict(json.loads(json.dumps(rnd.to_dict()))) == rnd


@pytest.mark.slow
def test_quiz_page_plays_a_round_and_stores_the_answer(ws, mock_sky, monkeypatch):
    """Quiz page end to end in AppTest: four images, one pick, stored, on the leaderboard."""
    import shutil

    from streamlit.testing.v1 import AppTest

    from galaxysd_core import quiz
    from galaxysd_core.db import database_url
    from galaxysd_core.diffusion import build_pipeline, save_pipeline, tiny_components
    from galaxysd_core.review import ReviewStore

    root = Path(__file__).resolve().parent.parent
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(quiz, "GENERATION_STEPS", 2)  # a tiny model: pixels don't matter here
    from pages._common import Keys

    shutil.copytree(mock_sky, ws.sky / "default")
    save_pipeline(build_pipeline(tiny_components(0)), ws.models / "tiny")

    at = AppTest.from_file(str(root / "app.py"), default_timeout=120)
    at.session_state[Keys.ACTIVE_MODEL] = str(ws.models / "tiny")
    at.session_state[Keys.QUIZ_PLAYER] = "ann"
    at.run()
    at.switch_page("pages/quiz.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    rnd = quiz.QuizRound.from_dict(at.session_state[Keys.QUIZ_ROUND])
    generated = Path(at.session_state[Keys.QUIZ_IMAGE])
    assert generated.is_file() and ws.contains(generated)
    assert len(at.main.image) == quiz.N_CHOICES
    picks = [b for b in at.button if b.key and b.key.startswith("quiz_pick_")]
    assert len(picks) == quiz.N_CHOICES
    wrong = (rnd.generated_index + 1) % quiz.N_CHOICES
    picks[wrong].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Fooled" in w.value for w in at.warning)

    store = ReviewStore(database_url(ws))
    board = store.quiz_leaderboard(limit=10)
    assert board.to_dict("records") == [
        {"username": "ann", "answers": 1, "correct": 0, "accuracy": 0.0}
    ]
    rates = store.quiz_fool_rates()
    assert rates["fool_rate"].tolist() == [1.0]
    assert "sdss" in rates["prompt"][0]
