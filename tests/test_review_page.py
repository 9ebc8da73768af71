"""The Review page with Streamlit's AppTest against a real SQLite store: sign in
(wrong then right passphrase), vote with the buttons, undo, and the admin panel."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from galaxysd_core.db import database_url
from galaxysd_core.review import ReviewStore

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `pages._common` is imported from the repository root
PAGE = str(ROOT / "pages" / "review.py")


@pytest.fixture
def seeded(ws):
    """A workspace store with a reviewer, an admin and a round of three imaged candidates."""
    (ws.root / "cands").mkdir()
    rows = []
    for i, score in enumerate([0.2, 0.9, 0.6]):
        Image.new("RGB", (16, 16), (40 * i, 80, 120)).save(ws.root / "cands" / f"{i}.png")
        rows.append(
            {
                "object_id": f"obj{i}",
                "image": f"cands/{i}.png",
                "score": score,
                "ra": 10.0,
                "dec": 1.0,
            }
        )
    store = ReviewStore(database_url(ws))
    store.add_reviewer("ann", "passphrase-ann")
    store.add_reviewer("boss", "passphrase-boss", role="admin")
    round_id = store.open_round("page", rows)
    yield store, round_id
    store.dispose()


def _sign_in(name: str, phrase: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    at.text_input[0].input(name)
    at.text_input[1].input(phrase)
    return at.button[0].click().run()


def test_sign_in_vote_undo(seeded):
    store, round_id = seeded
    at = _sign_in("ann", "wrong")
    assert "wrong reviewer name or passphrase" in " ".join(e.value for e in at.error)
    assert "review_session" not in at.session_state

    at = _sign_in("ann", "passphrase-ann")
    assert not at.exception
    assert "review_session" in at.session_state
    assert any("obj1" in m.value for m in at.markdown)  # highest score first
    at.button(key="review_yes").click().run()
    at.button(key="review_no").click().run()
    votes = store.votes(round_id)
    ids = dict(
        zip(
            store.candidates(round_id)["object_id"],
            store.candidates(round_id)["candidate_id"],
            strict=True,
        )
    )
    assert votes[["reviewer", "candidate_id", "label"]].values.tolist() == [
        ["ann", ids["obj1"], "yes"],
        ["ann", ids["obj2"], "no"],
    ]
    at.button(key="review_undo").click().run()
    assert store.votes(round_id)["candidate_id"].tolist() == [ids["obj1"]]
    assert not [b for b in at.button if b.label == "Close this round"]  # not an admin


def test_admin_closes_the_round(seeded):
    store, round_id = seeded
    at = _sign_in("boss", "passphrase-boss")
    assert not at.exception
    [close] = [b for b in at.button if b.label == "Close this round"]
    close.click().run()
    assert not at.exception
    assert store.round_info(round_id)["status"] == "closed"


def test_candidate_without_coordinates_or_with_an_outside_image(ws):
    """No ra/dec shows no coordinates (not a crash); an image path leaving the
    workspace is refused and reported as not found rather than read."""
    store = ReviewStore(database_url(ws))
    store.add_reviewer("ann", "passphrase-ann")
    store.open_round("bare", [{"object_id": "x1", "image": "../../../etc/passwd", "score": 0.5}])
    at = _sign_in("ann", "passphrase-ann")
    assert not at.exception
    page = " ".join(m.value for m in at.markdown)
    assert "`x1`" in page and "RA, Dec" not in page
    assert any("Image not found" in w.value for w in at.warning)
    store.dispose()


def test_note_display_tools_and_survey_links(seeded):
    store, round_id = seeded
    at = _sign_in("ann", "passphrase-ann")
    page = " ".join(m.value for m in at.markdown)
    assert "[SDSS SkyServer](https://skyserver.sdss.org/" in page and "[Legacy Survey](" in page
    at.radio(key="review_stretch").set_value("asinh")
    at.slider(key="review_zoom").set_value(2.0)
    at.checkbox(key="review_invert").check().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.main.image) >= 1
    at.text_input(key="review_note").input("faint lane to the NE").run()
    at.button(key="review_yes").click().run()
    assert store.votes(round_id)["comment"].tolist() == ["faint lane to the NE"]
    assert at.text_input(key="review_note").value == ""  # the next vote starts blank


def test_admin_manages_reviewers_and_decides_by_hand(seeded):
    store, round_id = seeded
    at = _sign_in("boss", "passphrase-boss")
    at.text_input(key="review_new_name").input("dan")
    at.text_input(key="review_new_phrase").input("short")
    next(b for b in at.button if b.label == "Add reviewer").click().run()
    assert any("at least 10 characters" in e.value for e in at.error)
    assert "dan" not in set(store.reviewer_table()["name"])
    at.text_input(key="review_new_name").input("dan")
    at.text_input(key="review_new_phrase").input("dan-passphrase")
    next(b for b in at.button if b.label == "Add reviewer").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "dan" in set(store.reviewer_table()["name"])
    at.selectbox(key="review_pick").set_value("ann").run()
    next(b for b in at.button if b.label == "Disable").click().run()
    assert not store.reviewer_table().set_index("name").loc["ann", "active"]
    at.text_input(key="review_reset_phrase").input("ann-new-passphrase")
    next(b for b in at.button if b.label == "Reset passphrase").click().run()
    assert any("New passphrase set for ann" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Accept").click().run()
    assert not at.exception, [e.value for e in at.exception]
    decided = store.decided(round_id)
    assert decided["reason"].tolist() == ["admin"] and decided["accepted"].tolist() == [True]
    shown = f"{decided['object_id'][0]} · accepted · admin"
    assert any(shown in str(i.proto) for i in at.main.image), [str(i.proto) for i in at.main.image]


def test_next_round_from_the_admin_panel_keeps_the_campaigns_settings(seeded, ws, monkeypatch):
    """The button launches the campaign's next round with its latest round's settings
    (sky, positives, share of accepted positives), not the defaults; a campaign with
    no round yet gets a one-line error."""
    import re

    from galaxysd_core import jobs
    from galaxysd_core.discovery import RoundConfig

    monkeypatch.setenv("GALAXYSD_MAX_HEAVY_JOBS", "1")
    at = _sign_in("boss", "passphrase-boss")
    [launch] = [b for b in at.button if b.label == "Launch the next discovery round"]
    at = launch.click().run()
    assert not at.exception
    assert "campaign 'page' has no round yet" in " ".join(e.value for e in at.error)

    round0 = ws.campaigns / "page" / "round-0"
    round0.mkdir(parents=True)
    ran = RoundConfig(
        campaign="page",
        sky=str(ws.root / "skies" / "nowhere"),  # missing: the job fails fast
        n_synthetic=12,
        top_k=40,
        accepted_share=0.5,
        output_dir=str(ws.root / "runs" / "old-job"),
    )
    ran.save(round0 / "config.json")
    [launch] = [b for b in at.button if b.label == "Launch the next discovery round"]
    at = launch.click().run()
    assert not at.exception and not at.error
    job = re.search(r"Job (\S+) launched", at.success[-1].value).group(1)
    launched = RoundConfig.load(ws.run_dir(job) / "config.json")
    assert (launched.sky, launched.n_synthetic, launched.top_k, launched.accepted_share) == (
        ran.sky,
        12,
        40,
        0.5,
    )
    assert launched.output_dir == str(ws.run_dir(job))  # the new job's folder, not the old one
    jobs.cancel(job, workspace=ws, wait=True, timeout=120)
