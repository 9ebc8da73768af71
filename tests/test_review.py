"""The review store against SQLite and a real PostgreSQL server: votes from parallel
processes, consensus, history, undo, errors that write nothing, roles, expiry, agreement,
exports, quiz, the CLI, and that the models match the Alembic migration."""

from __future__ import annotations

import multiprocessing as mp
import random
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from galaxysd_core.review import (
    AuthError,
    BadLabelError,
    NotAdminError,
    ReviewStore,
    ReviewValueError,
    RoundClosedError,
    SessionExpiredError,
    UnknownCandidateError,
)
from galaxysd_core.review.consensus import agreement, tally

N_CANDIDATES = 500
REVIEWERS = ("ann", "bob", "cat")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request, tmp_path_factory):
    """A fresh empty database URL: a SQLite file, or a new PostgreSQL database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('review') / 'review.db'}"
        return
    pg_url = request.getfixturevalue("pg_url")
    name = f"review_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


class Clock:
    """A settable clock, so expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _label(reviewer: str, index: int) -> str:
    """Each reviewer's final label for candidate ``index``: a fixed, known pattern."""
    return ("yes", "no", "unsure")[(index * (REVIEWERS.index(reviewer) + 1)) % 3]


def _voter(url: str, reviewer: str, ids: list[int]) -> None:
    store = ReviewStore(url)
    session = store.sign_in(reviewer, f"passphrase-{reviewer}")
    order = list(enumerate(ids))
    random.Random(reviewer).shuffle(order)
    for index, cid in order:
        # Every 25th vote is first cast wrong and then changed, so upserts race too.
        if index % 25 == 0:
            store.vote(session, cid, "unsure" if _label(reviewer, index) != "unsure" else "yes")
        store.vote(session, cid, _label(reviewer, index))
    store.dispose()


def _candidates(n: int) -> list[dict]:
    rng = np.random.default_rng(0)
    return [
        {
            "object_id": str(1000 + i),
            "image": f"img/{i}.jpg",
            "score": float(s),
            "ra": 150.0,
            "dec": 2.0,
        }
        for i, s in enumerate(rng.random(n))
    ]


@pytest.fixture(scope="module")
def store(backend):
    store = ReviewStore(backend, session_ttl=timedelta(minutes=30))
    for name in REVIEWERS:
        store.add_reviewer(name, f"passphrase-{name}")
    store.add_reviewer("boss", "passphrase-boss", role="admin")
    store.add_reviewer("dan", "passphrase-dan")
    yield store
    store.dispose()


@pytest.mark.slow
def test_three_parallel_reviewers_give_exactly_one_vote_each(store, backend):
    round_id = store.open_round("parallel", _candidates(N_CANDIDATES))
    ids = [int(i) for i in store.candidates(round_id)["candidate_id"]]
    store.dispose()  # no pooled connection may cross the fork
    ctx = mp.get_context("fork")
    workers = [ctx.Process(target=_voter, args=(backend, r, ids)) for r in REVIEWERS]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]

    votes = store.votes(round_id)
    assert len(votes) == 3 * N_CANDIDATES
    assert not votes.duplicated(["reviewer", "candidate_id"]).any()
    expected = pd.DataFrame(
        [(r, ids[i], _label(r, i)) for r in REVIEWERS for i in range(N_CANDIDATES)],
        columns=["reviewer", "candidate_id", "label"],
    )
    got = votes[["reviewer", "candidate_id", "label"]].sort_values(["reviewer", "candidate_id"])
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True),
        expected.sort_values(["reviewer", "candidate_id"]).reset_index(drop=True),
    )
    table = store.consensus(round_id)
    yes = expected[expected.label == "yes"].groupby("candidate_id").size()
    assert table["decided"].all()
    assert table["accepted"].sum() == int((yes >= 2).sum())
    assert (table.set_index("candidate_id")["yes"] == yes.reindex(ids, fill_value=0)).all()
    history = store.history(round_id)
    changed = 3 * len(range(0, N_CANDIDATES, 25))
    assert len(history) == 3 * N_CANDIDATES + changed
    assert (history["action"] == "change").sum() == changed


def test_changed_vote_keeps_history_and_undo_walks_back(store):
    round_id = store.open_round("history", _candidates(3))
    a, b = (int(i) for i in store.candidates(round_id)["candidate_id"][:2])
    ann = store.sign_in("dan", "passphrase-dan")  # votes nowhere else: undo walks only these
    store.vote(ann, a, "yes", comment="round, dusty")
    store.vote(ann, a, "no")
    store.vote(ann, b, "unsure")
    history = store.history(round_id)
    cols = ["candidate_id", "action", "label", "previous_label"]
    assert history[cols].fillna("-").values.tolist() == [
        [a, "vote", "yes", "-"],
        [a, "change", "no", "yes"],
        [b, "vote", "unsure", "-"],
    ]
    assert store.undo_last_vote(ann) == b  # the vote on b disappears
    assert store.undo_last_vote(ann) == a  # a goes back to yes, with its comment
    current = store.votes(round_id)
    assert current[["candidate_id", "label", "comment"]].values.tolist() == [
        [a, "yes", "round, dusty"]
    ]
    assert store.undo_last_vote(ann) == a
    assert store.undo_last_vote(ann) is None
    assert store.votes(round_id).empty
    assert len(store.history(round_id)) == 6  # three votes, three undos: nothing erased


def _counts(store: ReviewStore) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        return tuple(
            conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("votes", "vote_history", "review_sessions")
        )


def test_bad_input_raises_a_clear_error_and_writes_nothing(store):
    round_id = store.open_round("errors", _candidates(2))
    cid = int(store.candidates(round_id)["candidate_id"][0])
    ann = store.sign_in("ann", "passphrase-ann")
    before = _counts(store)
    with pytest.raises(UnknownCandidateError, match="no candidate with id 987654"):
        store.vote(ann, 987654, "yes")
    with pytest.raises(BadLabelError, match="'maybe' is not one of yes, no, unsure"):
        store.vote(ann, cid, "maybe")
    with pytest.raises(AuthError, match="unknown or signed-out session"):
        store.vote("forged-token", cid, "yes")
    # One message whether the name or the passphrase is wrong: no telling which names exist.
    with pytest.raises(AuthError, match=r"^wrong reviewer name or passphrase$"):
        store.sign_in("zoe", "whatever")
    with pytest.raises(PermissionError, match=r"^wrong reviewer name or passphrase$"):
        store.sign_in("ann", "passphrase-bob")
    with pytest.raises(ReviewValueError, match="passphrase of 'eve' must have at least 10"):
        store.add_reviewer("eve", "123456789")
    with pytest.raises(UnknownCandidateError, match="'7' is not an integer id"):
        store.vote(ann, "7", "yes")
    assert _counts(store) == before
    with pytest.raises(ReviewValueError, match="object_id '1' appears twice"):
        store.open_round(
            "errors", [{"object_id": "1", "image": "a"}, {"object_id": 1, "image": "b"}]
        )
    with pytest.raises(ReviewValueError, match=r"dec=95 is not a number in \[-90.0, 90.0\]"):
        store.open_round("errors", [{"object_id": "1", "image": "a", "dec": 95}])
    with pytest.raises(ReviewValueError, match=r"unknown key\(s\) \['colour'\]"):
        store.open_round("errors", [{"object_id": "1", "image": "a", "colour": "red"}])
    assert list(store.rounds().query("campaign == 'errors'")["number"]) == [1]


def test_sessions_expire_and_roles_are_enforced(backend):
    clock = Clock()
    store = ReviewStore(backend, session_ttl=timedelta(minutes=30), clock=clock)
    round_id = store.open_round("roles", _candidates(2))
    cid = int(store.candidates(round_id)["candidate_id"][0])
    ann, boss = store.sign_in("ann", "passphrase-ann"), store.sign_in("boss", "passphrase-boss")
    with pytest.raises(NotAdminError, match="'ann' is not an admin"):
        store.close_round(round_id, session=ann)
    with pytest.raises(NotAdminError):
        store.open_round("roles", _candidates(1), session=ann)
    with pytest.raises(NotAdminError):
        store.add_reviewer("eve", "x" * 10, role="admin", session=ann)
    clock.now += timedelta(minutes=31)
    with pytest.raises(SessionExpiredError, match="session of 'ann' expired"):
        store.vote(ann, cid, "yes")
    assert store.votes(round_id).empty
    boss = store.sign_in("boss", "passphrase-boss")
    store.close_round(round_id, session=boss)
    ann = store.sign_in("ann", "passphrase-ann")
    with pytest.raises(RoundClosedError, match="is closed"):
        store.vote(ann, cid, "yes")
    assert store.queue(ann, round_id).empty
    store.dispose()


def test_queue_excludes_voted_and_decided_and_orders(store):
    cands = [
        {"object_id": str(i), "image": f"{i}.jpg", "score": s}
        for i, s in enumerate([0.9, 0.52, 0.15, 0.7])
    ]
    round_id = store.open_round("queue", cands, panel_size=2, quorum=2)
    ids = dict(
        zip(
            store.candidates(round_id)["object_id"],
            store.candidates(round_id)["candidate_id"],
            strict=True,
        )
    )
    ann, bob, cat = (store.sign_in(r, f"passphrase-{r}") for r in REVIEWERS)
    assert list(store.queue(ann, round_id)["object_id"]) == ["0", "3", "1", "2"]
    assert list(store.queue(ann, round_id, order="uncertainty")["object_id"]) == [
        "1",
        "3",
        "2",
        "0",
    ]
    store.vote(ann, ids["0"], "yes")
    assert "0" not in set(store.queue(ann, round_id)["object_id"])
    assert "0" in set(store.queue(cat, round_id)["object_id"])
    store.vote(bob, ids["0"], "yes")  # panel of 2 complete: decided and accepted
    assert "0" not in set(store.queue(cat, round_id)["object_id"])
    assert store.consensus(round_id).set_index("object_id").loc["0", "accepted"]
    with pytest.raises(ReviewValueError, match="'random'"):
        store.queue(ann, round_id, order="random")


def test_agreement_statistics_on_a_known_panel():
    candidates = pd.DataFrame({"candidate_id": [1, 2, 3, 4]})
    rows = [
        ("a", 1, "yes"),
        ("b", 1, "yes"),
        ("c", 1, "yes"),
        ("a", 2, "no"),
        ("b", 2, "no"),
        ("c", 2, "no"),
        ("a", 3, "yes"),
        ("b", 3, "yes"),
        ("c", 3, "no"),
        ("a", 4, "unsure"),
        ("b", 4, "yes"),
    ]
    votes = pd.DataFrame(rows, columns=["reviewer", "candidate_id", "label"])
    table = tally(candidates, votes, panel_size=3, quorum=2)
    assert table["decided"].tolist() == [True, True, True, False]
    assert table["accepted"].tolist() == [True, False, True, False]
    result = agreement(votes, table, panel_size=3)
    from statsmodels.stats.inter_rater import fleiss_kappa

    assert result.fleiss_kappa == pytest.approx(
        fleiss_kappa(np.array([[3, 0, 0], [0, 3, 0], [2, 1, 0]]))
    )
    assert result.kappa_items == 3 and result.alpha_items == 4
    assert -1 <= result.krippendorff_alpha <= 1
    per = result.per_reviewer.set_index("reviewer")
    assert per.loc["a", "agreement"] == 1.0 and per.loc["c", "agreement"] == pytest.approx(2 / 3)


def test_export_csv_and_fits(store, tmp_path):
    from astropy.table import Table

    round_id = store.open_round("export", _candidates(5))
    ann = store.sign_in("ann", "passphrase-ann")
    store.vote(ann, int(store.candidates(round_id)["candidate_id"][0]), "yes")
    csv = pd.read_csv(store.export_decisions(round_id, tmp_path / "d.csv"))
    fits = Table.read(store.export_decisions(round_id, tmp_path / "d.fits"))
    assert len(csv) == len(fits) == 5
    assert list(fits["yes"]) == list(csv["yes"]) == [1, 0, 0, 0, 0]
    with pytest.raises(ReviewValueError, match="'xlsx'"):
        store.export_decisions(round_id, tmp_path / "d.xlsx")
    assert not (tmp_path / "d.xlsx").exists()


def test_quiz_answers_leaderboard_and_fool_rates(store):
    for user, correct, prompt in [
        ("p", True, "dusty"),
        ("p", True, "bar"),
        ("q", False, "dusty"),
        ("q", True, "dusty"),
    ]:
        store.record_quiz_answer(
            user,
            question="q",
            image_id="i.png",
            user_answer="generated",
            is_correct=correct,
            prompt=prompt,
        )
    board = store.quiz_leaderboard(limit=10)
    assert board[["username", "answers", "correct"]].values.tolist() == [["p", 2, 2], ["q", 2, 1]]
    rates = store.quiz_fool_rates().set_index("prompt")
    assert (
        rates.loc["dusty", "fool_rate"] == pytest.approx(1 / 3) and rates.loc["bar", "answers"] == 1
    )
    with pytest.raises(ReviewValueError, match="is_correct"):
        store.record_quiz_answer("p", question="q", image_id="i", user_answer="a", is_correct="yes")


def test_models_match_the_migration(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from galaxysd_core.review.models import Base

    ours = set(Base.metadata.tables)  # other domains' tables share the database

    def include(name, type_, parents):
        return type_ != "table" or name in ours

    opts = {"compare_type": True, "include_name": include}
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata) == []


def test_cli_add_reviewer_summary_and_export(backend, tmp_path, monkeypatch, capsys):
    import argparse
    import io
    import json

    from galaxysd_core.review.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())

    def main(argv):  # the hub's error handling, without importing every domain
        from galaxysd_core.errors import GalaxySDError

        args = parser.parse_args(argv)
        try:
            return args.func(args)
        except GalaxySDError:
            return 2

    monkeypatch.setattr("sys.stdin", io.StringIO("cli-secret-phrase\n"))
    assert (
        main(
            [
                "review",
                "--db",
                backend,
                "add-reviewer",
                "dora",
                "--passphrase-stdin",
                "--role",
                "admin",
            ]
        )
        == 0
    )
    store = ReviewStore(backend)
    assert store.sign_in("dora", "cli-secret-phrase")
    round_id = store.open_round("cli", _candidates(3))
    capsys.readouterr()
    assert main(["review", "--db", backend, "summary", "--round", str(round_id)]) == 0
    assert json.loads(capsys.readouterr().out)["candidates"] == 3
    out = tmp_path / "x.fits"
    assert (
        main(
            [
                "review",
                "--db",
                backend,
                "export",
                "--round",
                str(round_id),
                "--format",
                "fits",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.is_file()
    assert main(["review", "--db", backend, "summary", "--round", "999999"]) == 2
    store.dispose()
