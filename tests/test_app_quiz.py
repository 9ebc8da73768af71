"""The quiz's core logic: reading the real-image pool and drawing rounds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from galaxysd_core.errors import CatalogError, ConfigError
from galaxysd_core.quiz import (
    N_CHOICES,
    ROUND_SIZE,
    Question,
    QuizRound,
    draw_round,
    load_pool,
    load_questions,
    round_score,
    sample_round,
)


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


_BARS = [json.dumps({"file_name": f"{i}.png", "tags": ["bar"]}) for i in range(3)]


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        (None, "not a dataset"),  # no metadata.jsonl, no truth.parquet
        (_BARS[:2], "has 2 tagged images"),
        ([_BARS[0], "{oops"], "line 2 is malformed"),
        (
            [*_BARS, json.dumps({"file_name": "../outside.png", "tags": ["bar"]})],
            r"'\.\./outside\.png' points outside",
        ),
    ],
)
def test_pool_refuses_unknown_layouts_too_few_images_and_bad_lines(tmp_path, lines, match):
    _image(tmp_path / "outside.png")
    folder = tmp_path / "ds"
    for i in range(3):
        _image(folder / f"{i}.png")
    if lines is not None:
        (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(CatalogError, match=match):
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


def _questions(n: int) -> list[Question]:
    return [
        Question(f"q{i}", tuple(Path(f"{i}-{k}.jpg") for k in range(4)), i % 4, "p")
        for i in range(n)
    ]


def test_draw_round_prefers_unseen_questions_and_needs_five():
    pool = _questions(8)
    seen = {f"q{i}" for i in range(5)}
    for seed in range(10):
        drawn = draw_round(pool, seed=seed, seen=seen)
        assert len(drawn) == ROUND_SIZE and len({q.id for q in drawn}) == ROUND_SIZE
        assert {"q5", "q6", "q7"} <= {q.id for q in drawn}
    with pytest.raises(CatalogError, match="has 4 questions"):
        draw_round(pool[:4], seed=0)


def test_round_score_counts_and_lists_the_mistakes():
    pool = _questions(5)
    picks = [q.generated_index for q in pool]
    picks[1] = (picks[1] + 1) % 4
    score = round_score(pool, picks)
    assert (score["correct"], score["asked"], score["accuracy"]) == (4, 5, 0.8)
    assert score["chance"] == 1 / N_CHOICES
    assert score["mistakes"] == [(pool[1], picks[1])]
    with pytest.raises(ConfigError, match="got 4"):
        pool[0].is_correct(4)
    with pytest.raises(ConfigError, match="needs as many picks"):
        round_score(pool, picks[:2])


def test_load_questions_skips_cut_lines_and_missing_tiles(tmp_path):
    good = Question("q1", tuple(Path(f"t{k}.jpg") for k in range(4)), 2, "sdss, bar")
    for k in range(4):
        _image(tmp_path / f"t{k}.jpg")
    lost = Question("q2", tuple(Path(f"gone{k}.jpg") for k in range(4)), 0, "p")
    lines = [json.dumps(good.to_dict()), json.dumps(lost.to_dict()), '{"id": "q3", "til']
    (tmp_path / "questions.jsonl").write_text("\n".join(lines))
    assert load_questions(tmp_path) == [Question.from_dict(good.to_dict(), folder=tmp_path)]
    assert load_questions(tmp_path / "none") == []


def test_presented_tiles_share_size_coding_and_sky(mock_sky):
    """The generated tile gets the real tiles' size, JPEG coding and sky level."""
    import io

    import numpy as np
    import torch

    from galaxysd_core.classify.skymatch import sky_statistics
    from galaxysd_core.quiz_pool import present_question

    rnd = sample_round(load_pool(mock_sky), seed=1)
    black = Image.new("RGB", (128, 128))  # a model's clean, black sky
    for mode in ("none", "real"):
        tiles = present_question(black, list(rnd.real), generated_index=1, seed=0, sky=mode)
        images = [Image.open(io.BytesIO(t)) for t in tiles]
        assert {im.format for im in images} == {"JPEG"}
        assert {im.size for im in images} == {Image.open(rnd.real[0]).size}
        arrays = np.stack([np.asarray(im.convert("RGB")) for im in images]).transpose(0, 3, 1, 2)

        sky = sky_statistics(torch.from_numpy(arrays)).mean(axis=2)  # (tile, level/noise)
        real = np.median(np.delete(sky, 1, axis=0), axis=0)
        assert real[1] > 0.5  # real cutouts carry sky noise
        if mode == "real":
            assert abs(sky[1, 0] - real[0]) <= 1.0 and 0.5 < sky[1, 1] / real[1] < 2.0
        else:
            assert sky[1, 1] < 0.25 * real[1]  # the noise-free sky the matching removes


@pytest.mark.slow
def test_build_pool_writes_questions_and_resumes(ws, mock_sky):
    from galaxysd_core.diffusion import build_pipeline, save_pipeline, tiny_components
    from galaxysd_core.quiz import pool_dir
    from galaxysd_core.quiz_pool import QuizPoolConfig, build_pool

    save_pipeline(build_pipeline(tiny_components(0)), ws.models / "tiny")
    config = QuizPoolConfig(
        model=str(ws.models / "tiny"), dataset=str(mock_sky), questions=2, steps=2
    )
    folder = build_pool(config)
    assert folder == pool_dir(ws.cache, ws.models / "tiny", mock_sky)
    first = load_questions(folder)
    assert [q.id for q in first] == ["q0", "q1"]
    assert all(len(q.tiles) == N_CHOICES and q.prompt.startswith("sdss") for q in first)
    # The file names do not say which tile is generated.
    assert len({p.name.split("-")[0] for q in first for p in q.tiles}) == 2
    build_pool(QuizPoolConfig.from_dict({**config.to_dict(), "questions": 3}))
    assert [q.id for q in load_questions(folder)] == ["q0", "q1", "q2"]
    with pytest.raises(ConfigError, match=r"QuizPoolConfig\.questions"):
        QuizPoolConfig(model="m", dataset="d", questions=0).validate()


@pytest.mark.slow
def test_quiz_page_plays_a_round_of_five_then_reviews(ws, mock_sky, monkeypatch):
    """Quiz page in AppTest: a pool built ahead, five questions, the review pane, stored answers."""
    import shutil

    from streamlit.testing.v1 import AppTest

    from galaxysd_core import jobs
    from galaxysd_core.db import database_url
    from galaxysd_core.diffusion import build_pipeline, save_pipeline, tiny_components
    from galaxysd_core.quiz_pool import QuizPoolConfig, build_pool
    from galaxysd_core.review import ReviewStore

    root = Path(__file__).resolve().parent.parent
    monkeypatch.syspath_prepend(str(root))
    from pages._common import Keys

    shutil.copytree(mock_sky, ws.sky / "default")
    tiny = ws.models / "tiny"
    save_pipeline(build_pipeline(tiny_components(0)), tiny)
    at = AppTest.from_file(str(root / "app.py"), default_timeout=60)
    at.session_state[Keys.ACTIVE_MODEL] = str(tiny)
    at.session_state[Keys.QUIZ_PLAYER] = "ann"
    at.run()
    # No pool yet: the page launches its builder and waits (no generation in the page).
    at.switch_page("pages/quiz.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = jobs.list_jobs(workspace=ws)
    assert table["kind"].tolist() == ["quiz-pool"]
    jobs.cancel(table["id"][0], workspace=ws, wait=True, timeout=60)
    assert len(at.main.image) == 0

    config = QuizPoolConfig(model=str(tiny), dataset=str(ws.sky / "default"), questions=6, steps=2)
    build_pool(config)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.session_state[Keys.QUIZ_ROUND]
    assert len(shown) == ROUND_SIZE
    for k, data in enumerate(shown):
        question = Question.from_dict(data)
        assert len(at.main.image) == N_CHOICES
        assert any(f"Question {k + 1} of 5" in m.value for m in at.markdown)
        pick = question.generated_index if k % 2 == 0 else (question.generated_index + 1) % 4
        at.button(key=f"quiz_pick_{pick}").click().run()
        assert not at.exception, [e.value for e in at.exception]
    assert any("You found 3 of 5" in h.value for h in at.subheader)
    assert any("25%" in c.value for c in at.caption)
    assert len(at.success) >= 2  # each mistake marks its generated tile
    assert len(at.main.image) == 2 * N_CHOICES  # the two mistakes, tiles shown again

    store = ReviewStore(database_url(ws))
    board = store.quiz_leaderboard(limit=10)
    assert board.to_dict("records") == [
        {"username": "ann", "answers": 5, "correct": 3, "accuracy": 0.6}
    ]
    assert store.quiz_fool_rates()["answers"].sum() == 5
    # The cancelled builder was not relaunched behind the player's back.
    assert jobs.list_jobs(workspace=ws)["status"].tolist() == ["cancelled"]


@pytest.mark.slow
def test_ensure_pool_launches_one_builder_and_retries_a_failure_on_request(ws, tmp_path):
    import time

    from galaxysd_core import jobs
    from galaxysd_core.quiz_pool import ensure_pool

    missing = tmp_path / "no-such-dataset"
    first = ensure_pool("assets/demo-model", missing, workspace=ws, questions=5)
    assert first.ready == 0 and first.job_status in ("queued", "running")
    again = ensure_pool("assets/demo-model", missing, workspace=ws, questions=5)
    assert again.job_id == first.job_id  # never two builders for one pool
    deadline = time.monotonic() + 120
    while jobs.status(first.job_id, workspace=ws)["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    state = jobs.status(first.job_id, workspace=ws)
    assert state["status"] == "failed" and "not a dataset" in state["reason"]
    after = ensure_pool("assets/demo-model", missing, workspace=ws, questions=5)
    assert (after.job_id, after.job_status) == (first.job_id, "failed")  # not relaunched
    retried = ensure_pool("assets/demo-model", missing, workspace=ws, questions=5, retry=True)
    assert retried.job_id != first.job_id
    jobs.cancel(retried.job_id, workspace=ws, wait=True, timeout=60)
