"""Plumbing shared by the review store's parts: engine, transactions, sessions, lookups."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from galaxysd_core.db import database_url, make_engine, migrate, write_transaction
from galaxysd_core.review import auth
from galaxysd_core.review.checks import check_round_id
from galaxysd_core.review.consensus import check_rule
from galaxysd_core.review.errors import (
    AuthError,
    NotAdminError,
    ReviewValueError,
    SessionExpiredError,
    UnknownRoundError,
)
from galaxysd_core.review.models import (
    Candidate,
    Reviewer,
    ReviewSession,
    Round,
    Vote,
    VoteHistory,
    as_utc,
    utcnow,
)

C, R, V, H = Candidate.__table__, Round.__table__, Vote.__table__, VoteHistory.__table__
#: What a reviewer or a report sees of a candidate (the columns of every candidate query).
CANDIDATE_COLUMNS = (
    C.c.id.label("candidate_id"),
    C.c.object_id,
    C.c.ra,
    C.c.dec,
    C.c.image,
    C.c.score,
)


@dataclass(frozen=True)
class Me:
    """The reviewer behind a valid session."""

    id: int
    name: str
    role: str
    expires_at: datetime


def frame(result: sa.CursorResult, columns: list[str] | None = None) -> pd.DataFrame:
    """A query result as a DataFrame; timestamps as UTC whatever the database."""
    rows = result.mappings().all()
    table = pd.DataFrame(rows, columns=columns or list(result.keys()))
    for name in table.columns:
        if len(table) and isinstance(table[name].iloc[0], datetime):
            stamps = pd.to_datetime(table[name])
            tz = stamps.dt.tz
            table[name] = (
                stamps.dt.tz_localize("UTC") if tz is None else stamps.dt.tz_convert("UTC")
            )
    return table


class StoreBase:
    """Engine, transactions and session checks shared by the store's mixins.

    Parameters are documented on :class:`~galaxysd_core.review.store.ReviewStore`.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        panel_size: int = 3,
        quorum: int = 2,
        session_ttl: timedelta = timedelta(hours=8),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        check_rule(panel_size, quorum)
        if not isinstance(session_ttl, timedelta) or session_ttl <= timedelta(0):
            raise ReviewValueError(f"session_ttl must be a positive timedelta, got {session_ttl!r}")
        self.url = url or database_url()
        self.panel_size, self.quorum, self.session_ttl = panel_size, quorum, session_ttl
        self._clock = clock
        self.engine = make_engine(self.url)
        migrate(self.engine)

    def dispose(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    # -- plumbing -----------------------------------------------------------
    def _now(self) -> datetime:
        return as_utc(self._clock())

    @contextlib.contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with write_transaction(self.engine) as conn:
            yield conn

    def _me(self, conn: sa.Connection, session: str) -> Me:
        if not isinstance(session, str) or not session:
            raise AuthError("not signed in: sign in to get a session")
        row = conn.execute(
            sa.select(Reviewer.id, Reviewer.name, Reviewer.role, ReviewSession.expires_at)
            .join(Reviewer, Reviewer.id == ReviewSession.reviewer_id)
            .where(ReviewSession.token_hash == auth.token_digest(session))
        ).first()
        if row is None:
            raise AuthError("unknown or signed-out session: sign in again")
        expires = as_utc(row.expires_at)
        if expires <= self._now():
            raise SessionExpiredError(
                f"the session of {row.name!r} expired at {expires:%Y-%m-%d %H:%M:%S} UTC: "
                "sign in again"
            )
        return Me(row.id, row.name, row.role, expires)

    def _admin(self, conn: sa.Connection, session: str | None) -> int | None:
        if session is None:
            return None
        me = self._me(conn, session)
        if me.role != "admin":
            raise NotAdminError(f"reviewer {me.name!r} is not an admin")
        return me.id

    def _round(self, conn: sa.Connection, round_id: Any) -> sa.Row:
        rid = check_round_id(round_id)
        row = conn.execute(sa.select(R).where(R.c.id == rid)).first()
        if row is None:
            raise UnknownRoundError(f"no round with id {rid}")
        return row
