"""Review domain: reviewers, campaigns, rounds, candidates, votes, history, sessions, quiz.

Revision ID: 0001_review
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_review"
down_revision = None
branch_labels = ("review",)
depends_on = None

TS = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True)


def _fk(column: str, table: str, source: str, *, nullable: bool = False) -> list:
    return [
        sa.Column(column, sa.Integer, nullable=nullable),
        sa.ForeignKeyConstraint([column], [f"{table}.id"], name=f"fk_{source}_{column}_{table}"),
    ]


def upgrade() -> None:
    op.create_table(
        "reviewers",
        _id(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("passphrase_hash", sa.String(256), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reviewers"),
        sa.UniqueConstraint("name", name="uq_reviewers_name"),
        sa.CheckConstraint("role IN ('reviewer', 'admin')", name="ck_reviewers_role"),
    )
    op.create_table(
        "campaigns",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.UniqueConstraint("name", name="uq_campaigns_name"),
    )
    op.create_table(
        "campaign_references",
        _id(),
        *_fk("campaign_id", "campaigns", "campaign_references"),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("image", sa.String(1024), nullable=False),
        sa.Column("ra", sa.Float, nullable=True),
        sa.Column("dec", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_references"),
        sa.UniqueConstraint("campaign_id", "object_id", name="uq_campaign_references_campaign_id"),
    )
    op.create_table(
        "rounds",
        _id(),
        *_fk("campaign_id", "campaigns", "rounds"),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("panel_size", sa.Integer, nullable=False),
        sa.Column("quorum", sa.Integer, nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        *_fk("opened_by", "reviewers", "rounds", nullable=True),
        *_fk("closed_by", "reviewers", "rounds", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rounds"),
        sa.UniqueConstraint("campaign_id", "number", name="uq_rounds_campaign_id"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_rounds_status"),
        sa.CheckConstraint("quorum >= 1 AND quorum <= panel_size", name="ck_rounds_quorum"),
    )
    op.create_table(
        "candidates",
        _id(),
        *_fk("round_id", "rounds", "candidates"),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("ra", sa.Float, nullable=True),
        sa.Column("dec", sa.Float, nullable=True),
        sa.Column("image", sa.String(1024), nullable=False),
        sa.Column("score", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_candidates"),
        sa.UniqueConstraint("round_id", "object_id", name="uq_candidates_round_id"),
    )
    op.create_index("ix_candidates_round_id", "candidates", ["round_id"])
    op.create_table(
        "votes",
        _id(),
        *_fk("reviewer_id", "reviewers", "votes"),
        *_fk("candidate_id", "candidates", "votes"),
        sa.Column("label", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("voted_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_votes"),
        # One current vote per (reviewer, candidate): the database enforces it,
        # so no race between processes can create a second one.
        sa.UniqueConstraint("reviewer_id", "candidate_id", name="uq_votes_reviewer_id"),
        sa.CheckConstraint("label IN ('yes', 'no', 'unsure')", name="ck_votes_label"),
    )
    op.create_index("ix_votes_candidate_id", "votes", ["candidate_id"])
    op.create_table(
        "vote_history",
        _id(),
        *_fk("reviewer_id", "reviewers", "vote_history"),
        *_fk("candidate_id", "candidates", "vote_history"),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("label", sa.String(8), nullable=True),
        sa.Column("previous_label", sa.String(8), nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vote_history"),
        sa.CheckConstraint("action IN ('vote', 'change', 'undo')", name="ck_vote_history_action"),
    )
    op.create_index("ix_vote_history_reviewer_id", "vote_history", ["reviewer_id"])
    op.create_index("ix_vote_history_candidate_id", "vote_history", ["candidate_id"])
    op.create_table(
        "review_sessions",
        _id(),
        sa.Column("token_hash", sa.String(64), nullable=False),
        *_fk("reviewer_id", "reviewers", "review_sessions"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_review_sessions_token_hash"),
    )
    op.create_table(
        "quiz_answers",
        _id(),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("image_id", sa.String(200), nullable=False),
        sa.Column("user_answer", sa.String(200), nullable=False),
        sa.Column("is_correct", sa.Boolean, nullable=False),
        sa.Column("prompt", sa.Text, nullable=True),
        sa.Column("timestamp", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quiz_answers"),
    )
    op.create_index("ix_quiz_answers_username", "quiz_answers", ["username"])


def downgrade() -> None:
    for table in (
        "quiz_answers",
        "review_sessions",
        "vote_history",
        "votes",
        "candidates",
        "rounds",
        "campaign_references",
        "campaigns",
        "reviewers",
    ):
        op.drop_table(table)
