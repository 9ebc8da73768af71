"""Background jobs: one row per run folder (galaxysd_core.jobs).

Revision ID: 0002_jobs
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_jobs"
down_revision = None
branch_labels = ("jobs",)
depends_on = None

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("run_dir", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("heavy", sa.Boolean(), nullable=False),
        sa.Column("num_processes", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer()),
        sa.Column("pid_started", sa.Float()),
        sa.Column("supervisor_pid", sa.Integer()),
        sa.Column("supervisor_started", sa.Float()),
        sa.Column("exit_code", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")", name="ck_jobs_status"
        ),
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.drop_table("jobs")
