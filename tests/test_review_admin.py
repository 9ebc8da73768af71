"""Admin tools of the review store and the reviewer's display tools: disable and
enable reviewers, reset passphrases, decide by hand, why candidates retired, the
upload check, stretch / contrast / invert / zoom and the survey links."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from galaxysd_core.errors import ConfigError
from galaxysd_core.review import AuthError, NotAdminError, ReviewStore, ReviewValueError
from galaxysd_core.review.display import adjust, survey_links


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    """A fresh database per test: a SQLite file, or a new PostgreSQL database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'review.db'}"
        return
    pg_url = request.getfixturevalue("pg_url")
    name = f"review_admin_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def store(url):
    s = ReviewStore(url)
    s.add_reviewer("boss", "boss-passphrase", role="admin")
    for name in ("ann", "bob", "cyd"):
        s.add_reviewer(name, f"{name}-passphrase")
    yield s
    s.dispose()


def test_disable_ends_sessions_and_blocks_sign_in_until_enabled(store):
    admin = store.sign_in("boss", "boss-passphrase")
    ann = store.sign_in("ann", "ann-passphrase")
    store.set_reviewer_active("ann", False, session=admin)
    with pytest.raises(AuthError, match="unknown or signed-out session"):
        store.whoami(ann)
    with pytest.raises(AuthError, match="'ann' is disabled"):
        store.sign_in("ann", "ann-passphrase")
    table = store.reviewer_table().set_index("name")
    assert not table.loc["ann", "active"] and table.loc["bob", "active"]
    store.set_reviewer_active("ann", True, session=admin)
    assert store.whoami(store.sign_in("ann", "ann-passphrase")).name == "ann"
    with pytest.raises(NotAdminError):
        store.set_reviewer_active("bob", False, session=store.sign_in("bob", "bob-passphrase"))
    with pytest.raises(ReviewValueError, match="cannot disable their own"):
        store.set_reviewer_active("boss", False, session=admin)


def test_reset_passphrase_needs_ten_characters_and_replaces_the_old(store):
    admin = store.sign_in("boss", "boss-passphrase")
    with pytest.raises(ReviewValueError, match="at least 10 characters"):
        store.reset_passphrase("ann", "short", session=admin)
    store.reset_passphrase("ann", "a-new-long-one", session=admin)
    with pytest.raises(AuthError, match="wrong reviewer name or passphrase"):
        store.sign_in("ann", "ann-passphrase")
    assert store.sign_in("ann", "a-new-long-one")


def test_decided_candidates_say_why_they_retired(store):
    rows = [{"object_id": f"o{i}", "image": f"{i}.png", "score": i / 10} for i in range(4)]
    rid = store.open_round("c", rows)
    ids = dict(
        zip(store.candidates(rid)["object_id"], store.candidates(rid)["candidate_id"], strict=True)
    )
    tokens = {n: store.sign_in(n, f"{n}-passphrase") for n in ("ann", "bob", "cyd")}
    for name, label in zip(tokens, ("yes", "yes", "no"), strict=True):
        store.vote(tokens[name], ids["o0"], label)  # two of three agree: consensus
    for name, label in zip(tokens, ("yes", "no", "unsure"), strict=True):
        store.vote(tokens[name], ids["o1"], label)  # a full panel, no two agree
    admin = store.sign_in("boss", "boss-passphrase")
    store.vote(tokens["ann"], ids["o2"], "no")
    store.retire_candidate(ids["o2"], "yes", session=admin)  # an admin decides
    with pytest.raises(ReviewValueError, match="'yes' or 'no'"):
        store.retire_candidate(ids["o3"], "maybe", session=admin)
    with pytest.raises(NotAdminError):
        store.retire_candidate(ids["o3"], "no", session=tokens["bob"])
    done = store.decided(rid).set_index("object_id")
    assert done["reason"].to_dict() == {"o0": "consensus reached", "o1": "3 votes", "o2": "admin"}
    assert done["accepted"].to_dict() == {"o0": True, "o1": False, "o2": True}
    assert store.queue(tokens["bob"], rid)["object_id"].tolist() == ["o3"]  # o2 left the queue
    assert store.summary(rid)["decided"] == 3


def test_display_stretch_contrast_invert_and_zoom(tmp_path):
    x = np.zeros((32, 32, 3), np.uint8)
    x[:, :16] = 10  # a faint half
    x[12:20, 12:20] = 250  # a bright core
    path = tmp_path / "c.png"
    Image.fromarray(x).save(path)
    linear = np.asarray(adjust(path))
    assert (linear == x).all()  # the default shows the pixels as they are
    lifted = np.asarray(adjust(path, stretch="asinh", contrast=2.0))
    assert lifted[0, 0, 0] > 3 * 10 and lifted[16, 16, 0] >= 250  # faint lifted, core kept
    assert np.asarray(adjust(path, invert=True))[0, 20, 0] == 255
    zoomed = adjust(path, zoom=4.0)
    assert zoomed.size == (32, 32) and np.asarray(zoomed)[0, 0, 0] > 200  # the core fills it
    with pytest.raises(ConfigError, match="stretch"):
        adjust(path, stretch="log")
    with pytest.raises(ConfigError, match="zoom must be in 1-8, got 9"):
        adjust(path, zoom=9)


def test_survey_links_by_ra_dec():
    links = survey_links(150.1, -2.5)
    assert links["SDSS SkyServer"].startswith("https://skyserver.sdss.org/")
    assert "ra=150.100000&dec=-2.500000" in links["SDSS SkyServer"]
    assert "legacysurvey.org/viewer?ra=150.100000&dec=-2.500000" in links["Legacy Survey"]
    assert survey_links(None, 1.0) == {} and survey_links(float("nan"), 1.0) == {}
    assert survey_links(400.0, 0.0) == {}
