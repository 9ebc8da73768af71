"""The review store: reviewers, sessions, rounds, candidates and votes in one database.

Every rule lives here and runs inside one transaction, so a vote is either
fully recorded (current vote + history row) or not at all, whatever the number
of app processes writing at once:

- one current vote per (reviewer, candidate), enforced by a unique constraint
  and written as an upsert; each vote, change or undo appends a history row;
- a candidate is decided at ``panel_size`` votes and accepted iff at least
  ``quorum`` are ``yes`` (Sec. 5 of the paper: three reviewers, two agree);
- a reviewer acts only through a session token from :meth:`ReviewStore.sign_in`,
  which expires after ``session_ttl``.

Roles. Opening and closing rounds and adding reviewers take an optional
``session``: when one is given it must be an admin's (the Review page always
passes the signed-in user's session, so a reviewer cannot open a round from the
app). Without a session the call is the trusted local path of scripts and the
``galaxysd review`` CLI: whoever holds the database URL can write the tables
directly anyway, so the database credentials are the boundary there.

On SQLite every write transaction starts with ``BEGIN IMMEDIATE``: the writer
takes the lock before reading, so concurrent writers queue on the busy timeout
instead of failing when a read snapshot cannot be upgraded. On PostgreSQL a
vote holds a share lock on its round's row, so closing a round waits for the
votes in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from galaxysd_core.paths import check_name as check_folder_name
from galaxysd_core.review import auth
from galaxysd_core.review.admin import AdminMixin
from galaxysd_core.review.base import CANDIDATE_COLUMNS, C, H, Me, R, V, frame
from galaxysd_core.review.checks import (
    REFERENCE_KEYS,
    check_candidate_id,
    check_label,
    check_name,
    check_passphrase,
    check_positive,
    check_role,
    normalize_objects,
)
from galaxysd_core.review.consensus import check_rule
from galaxysd_core.review.errors import (
    AuthError,
    ReviewValueError,
    RoundClosedError,
    UnknownCandidateError,
)
from galaxysd_core.review.models import Campaign, Reference, Reviewer, ReviewSession, as_utc
from galaxysd_core.review.quiz import QuizMixin
from galaxysd_core.review.reports import ReportsMixin

log = logging.getLogger(__name__)


def _sqlite_upsert() -> sa.Insert:
    stmt = sqlite_insert(V)
    return stmt.on_conflict_do_update(
        index_elements=["reviewer_id", "candidate_id"],
        set_={k: stmt.excluded[k] for k in ("label", "comment", "voted_at")},
    )


# Statements of the hot path (one vote), built once: one current vote per
# (reviewer, candidate) is an upsert on the unique constraint.
_SQLITE_UPSERT = _sqlite_upsert()
_PREVIOUS = sa.select(V.c.label).where(
    V.c.reviewer_id == sa.bindparam("rid"), V.c.candidate_id == sa.bindparam("cid")
)
# PostgreSQL: the previous label, the upsert and the history row in one
# statement, one round trip instead of three (every CTE reads the snapshot taken
# before the statement, so "prev" is the label this vote replaces).
_PG_VOTE = sa.text(
    """
    WITH prev AS (
        SELECT label FROM votes
        WHERE reviewer_id = CAST(:reviewer_id AS INTEGER)
          AND candidate_id = CAST(:candidate_id AS INTEGER)
    ), up AS (
        INSERT INTO votes (reviewer_id, candidate_id, label, comment, voted_at)
        VALUES (CAST(:reviewer_id AS INTEGER), CAST(:candidate_id AS INTEGER),
                CAST(:label AS VARCHAR), CAST(:comment AS TEXT), CAST(:at AS TIMESTAMPTZ))
        ON CONFLICT (reviewer_id, candidate_id) DO UPDATE SET
            label = EXCLUDED.label, comment = EXCLUDED.comment, voted_at = EXCLUDED.voted_at
        RETURNING 1
    )
    INSERT INTO vote_history (reviewer_id, candidate_id, action, label, previous_label, comment, at)
    SELECT CAST(:reviewer_id AS INTEGER), CAST(:candidate_id AS INTEGER),
           CASE WHEN (SELECT label FROM prev) IS NULL THEN 'vote' ELSE 'change' END,
           CAST(:label AS VARCHAR), (SELECT label FROM prev), CAST(:comment AS TEXT),
           CAST(:at AS TIMESTAMPTZ)
    FROM up
    """
)
# The signed-in reviewer, the session's expiry and the candidate's round in one
# round trip. On PostgreSQL it also locks the round row FOR SHARE (close_round
# waits for the votes in flight) and the reviewer row FOR NO KEY UPDATE (one
# reviewer's votes run one at a time, so previous_label in the history is exact;
# other reviewers are not blocked).
_VOTE_CONTEXT = (
    sa.select(Reviewer.id, ReviewSession.expires_at, R.c.id.label("round_id"), R.c.status)
    .select_from(ReviewSession)
    .join(Reviewer, Reviewer.id == ReviewSession.reviewer_id)
    .join(C, C.c.id == sa.bindparam("cid"))
    .join(R, R.c.id == C.c.round_id)
    .where(ReviewSession.token_hash == sa.bindparam("token"))
    .suffix_with("FOR NO KEY UPDATE OF reviewers FOR SHARE OF rounds", dialect="postgresql")
)


class ReviewStore(AdminMixin, ReportsMixin, QuizMixin):
    """Reviewers, rounds, candidates and votes, with the consensus rules.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL (``sqlite:///...`` or ``postgresql://...``); default
        :func:`galaxysd_core.db.database_url`. Migrations run on construction.
    panel_size : int, default 3
        Votes that decide a candidate (the default of new rounds).
    quorum : int, default 2
        ``yes`` votes among them that accept it (the default of new rounds).
    session_ttl : timedelta, default 8 hours
        How long a sign-in lasts.
    clock : callable, optional
        Returns the current UTC time; tests pass a fake one.
    """

    # -- reviewers and sessions ---------------------------------------------
    def add_reviewer(
        self, name: str, passphrase: str, *, role: str = "reviewer", session: str | None = None
    ) -> int:
        """Create a reviewer whose passphrase is stored as a salted scrypt hash.

        Parameters
        ----------
        name : str
            1-64 letters, digits or ``_ . @ -``; unique.
        passphrase : str
            At least :data:`~galaxysd_core.review.auth.MIN_PASSPHRASE`
            (10) characters; never stored.
        role : {"reviewer", "admin"}
        session : str, optional
            An admin's session (required from the app; see the module notes).

        Returns
        -------
        int
            The reviewer id.

        Raises
        ------
        ReviewValueError
            Bad or taken name, bad role, a passphrase under 10 characters.
        NotAdminError
            ``session`` is not an admin's.
        """
        check_name(name)
        check_role(role)
        digest = auth.hash_passphrase(
            check_passphrase(passphrase, name)
        )  # slow on purpose: outside the lock
        with self._write() as conn:
            self._admin(conn, session)
            if conn.execute(sa.select(Reviewer.id).where(Reviewer.name == name)).first():
                raise ReviewValueError(f"a reviewer named {name!r} already exists")
            new = sa.insert(Reviewer).values(
                name=name, role=role, passphrase_hash=digest, created_at=self._now()
            )
            rid = conn.execute(new.returning(Reviewer.id)).scalar_one()
        log.info("added %s %r", role, name)
        return rid

    def reviewers(self) -> pd.DataFrame:
        """All reviewers: ``name, role, created_at`` (never the hashes)."""
        with self.engine.connect() as conn:
            query = sa.select(Reviewer.name, Reviewer.role, Reviewer.created_at)
            return frame(conn.execute(query.order_by(Reviewer.id)))

    def sign_in(self, name: str, passphrase: str) -> str:
        """Check a passphrase and return a new session token.

        Raises
        ------
        AuthError
            Unknown name or wrong passphrase (a ``PermissionError``): one
            message for both, and the same scrypt work, so a sign-in does not
            tell whether a name exists. Nothing is written.
        """
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(Reviewer.id, Reviewer.passphrase_hash, Reviewer.disabled_at).where(
                    Reviewer.name == name
                )
            ).first()
        stored = row.passphrase_hash if row is not None else auth.dummy_hash()
        good = isinstance(passphrase, str) and auth.verify_passphrase(passphrase, stored)
        if row is None or not good:
            raise AuthError("wrong reviewer name or passphrase")
        if row.disabled_at is not None:
            raise AuthError(f"reviewer {name!r} is disabled: ask an admin")
        token, now = auth.new_token(), self._now()
        with self._write() as conn:
            # Housekeeping: this reviewer's expired sessions are of no use.
            conn.execute(
                sa.delete(ReviewSession).where(
                    ReviewSession.reviewer_id == row.id, ReviewSession.expires_at <= now
                )
            )
            conn.execute(
                sa.insert(ReviewSession).values(
                    token_hash=auth.token_digest(token),
                    reviewer_id=row.id,
                    created_at=now,
                    expires_at=now + self.session_ttl,
                )
            )
        return token

    def sign_out(self, session: str) -> None:
        """End a session (unknown tokens are ignored)."""
        with self._write() as conn:
            digest = auth.token_digest(session)
            conn.execute(sa.delete(ReviewSession).where(ReviewSession.token_hash == digest))

    def whoami(self, session: str) -> Me:
        """The reviewer behind ``session``; raises like :meth:`vote` when invalid."""
        with self.engine.connect() as conn:
            return self._me(conn, session)

    # -- campaigns and rounds ------------------------------------------------
    def open_round(
        self,
        campaign: str,
        candidates: Iterable[Mapping[str, Any]] | pd.DataFrame,
        *,
        session: str | None = None,
        panel_size: int | None = None,
        quorum: int | None = None,
        references: Iterable[Mapping[str, Any]] | pd.DataFrame | None = None,
    ) -> int:
        """Open the next round of a campaign (created if new) with its candidates.

        Parameters
        ----------
        campaign : str
            Campaign name: 1-64 letters, digits, ``_ . -``, not starting with
            a dot (it becomes the folder ``campaigns/<name>``).
        candidates : list of mappings or DataFrame
            ``object_id`` and ``image`` required; ``score``, ``ra``, ``dec`` optional.
        session : str, optional
            An admin's session (the app always passes one).
        panel_size, quorum : int, optional
            This round's rule; the store's defaults otherwise.
        references : list of mappings or DataFrame, optional
            Known objects (``object_id, image, ra, dec``) shown to reviewers for
            comparison; added to the campaign, replacing same ``object_id``.

        Returns
        -------
        int
            The new round's id.
        """
        check_folder_name(campaign, field="campaign")  # it names the folder campaigns/<name>
        panel = self.panel_size if panel_size is None else panel_size
        need = self.quorum if quorum is None else quorum
        check_rule(panel, need)
        rows = normalize_objects(candidates)
        refs = normalize_objects(references, keys=REFERENCE_KEYS) if references is not None else []
        now = self._now()
        with self._write() as conn:
            admin = self._admin(conn, session)
            cid = conn.execute(sa.select(Campaign.id).where(Campaign.name == campaign)).scalar()
            if cid is None:
                new = sa.insert(Campaign).values(name=campaign, created_at=now)
                cid = conn.execute(new.returning(Campaign.id)).scalar_one()
            number = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(R.c.number), 0)).where(
                    R.c.campaign_id == cid
                )
            ).scalar_one()
            new_round = sa.insert(R).values(
                campaign_id=cid,
                number=number + 1,
                status="open",
                panel_size=panel,
                quorum=need,
                opened_at=now,
                opened_by=admin,
            )
            rid = conn.execute(new_round.returning(R.c.id)).scalar_one()
            conn.execute(sa.insert(C), [{**r, "round_id": rid} for r in rows])
            if refs:
                ids = [r["object_id"] for r in refs]
                conn.execute(
                    sa.delete(Reference).where(
                        Reference.campaign_id == cid, Reference.object_id.in_(ids)
                    )
                )
                conn.execute(sa.insert(Reference), [{**r, "campaign_id": cid} for r in refs])
        log.info("opened round %d of %r with %d candidates", rid, campaign, len(rows))
        return rid

    def close_round(self, round_id: int, *, session: str | None = None) -> None:
        """Close a round: its votes become final and its queue empty."""
        with self._write() as conn:
            admin = self._admin(conn, session)
            row = self._round(conn, round_id)
            if row.status == "closed":
                raise RoundClosedError(f"round {row.id} is already closed")
            conn.execute(
                sa.update(R)
                .where(R.c.id == row.id)
                .values(status="closed", closed_at=self._now(), closed_by=admin)
            )

    # -- votes ---------------------------------------------------------------
    def _open_candidate(self, conn: sa.Connection, candidate_id: int) -> None:
        # FOR SHARE on the round row (PostgreSQL): close_round waits for us.
        row = conn.execute(
            sa.select(R.c.id, R.c.status)
            .join(C, C.c.round_id == R.c.id)
            .where(C.c.id == candidate_id)
            .with_for_update(read=True, of=R)
        ).first()
        if row is None:
            raise UnknownCandidateError(f"no candidate with id {candidate_id}")
        if row.status != "open":
            raise RoundClosedError(
                f"round {row.id} of candidate {candidate_id} is closed: votes are final"
            )

    def vote(self, session: str, candidate_id: int, label: str, *, comment: str | None = None):
        """Record the signed-in reviewer's vote, replacing their previous one.

        Parameters
        ----------
        session : str
            Token from :meth:`sign_in`.
        candidate_id : int
            From :meth:`candidates` or :meth:`queue`.
        label : {"yes", "no", "unsure"}
        comment : str, optional

        Raises
        ------
        BadLabelError, UnknownCandidateError, RoundClosedError, AuthError, SessionExpiredError
            Nothing is written in any of these cases.
        """
        label = check_label(label)
        cid = check_candidate_id(candidate_id)
        if comment is not None and not isinstance(comment, str):
            raise ReviewValueError(f"comment must be text, got {type(comment).__name__}")
        with self._write() as conn:
            digest = auth.token_digest(session) if isinstance(session, str) else ""
            ctx = conn.execute(_VOTE_CONTEXT, {"cid": cid, "token": digest}).first()
            if ctx is None or as_utc(ctx.expires_at) <= self._now():
                self._me(conn, session)  # raises for a bad or expired session
                raise UnknownCandidateError(f"no candidate with id {cid}")
            if ctx.status != "open":
                raise RoundClosedError(
                    f"round {ctx.round_id} of candidate {cid} is closed: votes are final"
                )
            mine = {"reviewer_id": ctx.id, "candidate_id": cid, "label": label, "comment": comment}
            now = self._now()
            if conn.dialect.name == "postgresql":
                conn.execute(_PG_VOTE, {**mine, "at": now})
                return
            if conn.dialect.name != "sqlite":
                raise ReviewValueError(f"votes need SQLite or PostgreSQL, not {conn.dialect.name}")
            previous = conn.execute(_PREVIOUS, {"rid": ctx.id, "cid": cid}).scalar()
            conn.execute(_SQLITE_UPSERT, {**mine, "voted_at": now})
            action = "vote" if previous is None else "change"
            conn.execute(
                sa.insert(H), {**mine, "action": action, "previous_label": previous, "at": now}
            )

    def undo_last_vote(self, session: str) -> int | None:
        """Undo the reviewer's latest vote not yet undone (repeat to go further back).

        The current vote goes back to what it was before (or disappears if it
        was the first); the undo itself is appended to the history.

        Returns
        -------
        int or None
            The candidate whose vote was undone; None when there is nothing to undo.
        """
        with self._write() as conn:
            me = self._me(conn, session)
            rows = conn.execute(
                sa.select(H.c.id, H.c.candidate_id, H.c.action, H.c.label, H.c.previous_label)
                .where(H.c.reviewer_id == me.id)
                .order_by(H.c.id.desc())
            ).all()
            # The history is a stack of votes and undos: each undo row cancels the
            # newest vote row below it that no later undo has cancelled.
            pending, target = 0, None
            for row in rows:
                if row.action == "undo":
                    pending += 1
                elif pending:
                    pending -= 1
                else:
                    target = row
                    break
            if target is None:
                return None
            self._open_candidate(conn, target.candidate_id)
            where = (V.c.reviewer_id == me.id) & (V.c.candidate_id == target.candidate_id)
            restored = target.previous_label
            comment = None
            if restored is None:
                conn.execute(sa.delete(V).where(where))
            else:
                comment = conn.execute(
                    sa.select(H.c.comment)
                    .where(
                        H.c.reviewer_id == me.id,
                        H.c.candidate_id == target.candidate_id,
                        H.c.id < target.id,
                    )
                    .order_by(H.c.id.desc())
                    .limit(1)
                ).scalar()
                conn.execute(
                    sa.update(V)
                    .where(where)
                    .values(label=restored, comment=comment, voted_at=self._now())
                )
            conn.execute(
                sa.insert(H).values(
                    reviewer_id=me.id,
                    candidate_id=target.candidate_id,
                    action="undo",
                    label=restored,
                    previous_label=target.label,
                    comment=comment,
                    at=self._now(),
                )
            )
            return int(target.candidate_id)

    def queue(
        self,
        session: str,
        round_id: int,
        *,
        order: Literal["score", "uncertainty"] = "score",
        limit: int = 20,
    ) -> pd.DataFrame:
        """The next candidates for the signed-in reviewer.

        Never lists a candidate the reviewer has voted on, nor a decided one;
        empty when the round is closed.

        Parameters
        ----------
        order : {"score", "uncertainty"}
            Highest score first, or score closest to 0.5 first (the classifier's
            least certain calls, the most informative to label).
        limit : int, default 20

        Returns
        -------
        DataFrame
            ``candidate_id, object_id, ra, dec, image, score, n_votes``.
        """
        if order not in ("score", "uncertainty"):
            raise ReviewValueError(f"queue order {order!r} is not 'score' or 'uncertainty'")
        check_positive(limit, "limit")
        with self.engine.connect() as conn:
            me = self._me(conn, session)
            rnd = self._round(conn, round_id)
            n_votes = sa.select(sa.func.count()).where(V.c.candidate_id == C.c.id)
            n_votes = n_votes.scalar_subquery()
            mine = sa.select(V.c.candidate_id).where(V.c.reviewer_id == me.id)
            key = C.c.score.desc() if order == "score" else sa.func.abs(C.c.score - 0.5)
            query = (
                sa.select(*CANDIDATE_COLUMNS, n_votes.label("n_votes"))
                .where(C.c.round_id == rnd.id, C.c.id.not_in(mine), n_votes < rnd.panel_size)
                .where(C.c.admin_label.is_(None))  # decided by an admin
                .order_by(C.c.score.is_(None), key, C.c.id)
                .limit(0 if rnd.status != "open" else limit)
            )
            return frame(conn.execute(query))
