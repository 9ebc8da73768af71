"""The review schema as SQLAlchemy 2 models.

Alembic revisions ``0001_review`` and ``0003_review_admin`` create exactly
these tables (a test compares the two). Timestamps are UTC; SQLite gives them back without a zone, so readers
go through :func:`as_utc`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

LABELS = ("yes", "no", "unsure")
ROLES = ("reviewer", "admin")
ROUND_STATUSES = ("open", "closed")
# What a vote_history row records: a first vote, a changed vote, an undo.
ACTIONS = ("vote", "change", "undo")
# What an admin may decide a candidate as (Candidate.admin_label).
ADMIN_LABELS = ("yes", "no")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Attach UTC to a naive timestamp read back from SQLite."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


TS = sa.DateTime(timezone=True)


class Reviewer(Base):
    __tablename__ = "reviewers"
    __table_args__ = (sa.CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    passphrase_hash: Mapped[str] = mapped_column(sa.String(256))
    created_at: Mapped[datetime] = mapped_column(TS)
    # Revision 0003: a disabled reviewer cannot sign in (their votes stay).
    disabled_at: Mapped[datetime | None] = mapped_column(TS)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS)


class Reference(Base):
    """A known object shown beside the candidates (a known D-ETG, Sec. 5)."""

    __tablename__ = "campaign_references"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    image: Mapped[str] = mapped_column(sa.String(1024))
    ra: Mapped[float | None] = mapped_column(sa.Float)
    dec: Mapped[float | None] = mapped_column(sa.Float)


class Round(Base):
    __tablename__ = "rounds"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "number"),
        sa.CheckConstraint(_in("status", ROUND_STATUSES), name="status"),
        sa.CheckConstraint("quorum >= 1 AND quorum <= panel_size", name="quorum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    number: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(8))
    panel_size: Mapped[int] = mapped_column(sa.Integer)
    quorum: Mapped[int] = mapped_column(sa.Integer)
    opened_at: Mapped[datetime] = mapped_column(TS)
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    opened_by: Mapped[int | None] = mapped_column(sa.ForeignKey("reviewers.id"))
    closed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("reviewers.id"))


class Candidate(Base):
    __tablename__ = "candidates"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "object_id"),
        sa.CheckConstraint(
            "admin_label IS NULL OR " + _in("admin_label", ADMIN_LABELS), name="admin_label"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id"), index=True)
    object_id: Mapped[str] = mapped_column(sa.String(64))
    ra: Mapped[float | None] = mapped_column(sa.Float)
    dec: Mapped[float | None] = mapped_column(sa.Float)
    image: Mapped[str] = mapped_column(sa.String(1024))
    score: Mapped[float | None] = mapped_column(sa.Float)
    # Revision 0003: an admin may decide a candidate without waiting for the panel.
    retired_at: Mapped[datetime | None] = mapped_column(TS)
    retired_by: Mapped[int | None] = mapped_column(sa.ForeignKey("reviewers.id"))
    admin_label: Mapped[str | None] = mapped_column(sa.String(8))


class Vote(Base):
    """The current vote of one reviewer on one candidate (at most one)."""

    __tablename__ = "votes"
    __table_args__ = (
        sa.UniqueConstraint("reviewer_id", "candidate_id"),
        sa.CheckConstraint(_in("label", LABELS), name="label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("reviewers.id"))
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("candidates.id"), index=True)
    label: Mapped[str] = mapped_column(sa.String(8))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    voted_at: Mapped[datetime] = mapped_column(TS)


class VoteHistory(Base):
    """Append-only audit trail: one row per vote, change or undo."""

    __tablename__ = "vote_history"
    __table_args__ = (sa.CheckConstraint(_in("action", ACTIONS), name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("reviewers.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("candidates.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(8))
    label: Mapped[str | None] = mapped_column(sa.String(8))
    previous_label: Mapped[str | None] = mapped_column(sa.String(8))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(TS)


class ReviewSession(Base):
    __tablename__ = "review_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("reviewers.id"))
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)


class QuizAnswer(Base):
    """One answer of the app's real-or-generated quiz (the authors' table, plus prompt)."""

    __tablename__ = "quiz_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    question: Mapped[str] = mapped_column(sa.String(200))
    image_id: Mapped[str] = mapped_column(sa.String(200))
    user_answer: Mapped[str] = mapped_column(sa.String(200))
    is_correct: Mapped[bool] = mapped_column(sa.Boolean)
    prompt: Mapped[str | None] = mapped_column(sa.Text)
    timestamp: Mapped[datetime] = mapped_column(TS)
