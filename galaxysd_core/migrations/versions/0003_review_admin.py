"""Review domain: disabled reviewers and candidates retired by an admin.

Revision ID: 0003_review_admin
Revises: 0001_review
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_review_admin"
down_revision = "0001_review"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table("reviewers") as batch:
        batch.add_column(sa.Column("disabled_at", TS, nullable=True))
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("retired_at", TS, nullable=True))
        batch.add_column(sa.Column("retired_by", sa.Integer, nullable=True))
        batch.add_column(sa.Column("admin_label", sa.String(8), nullable=True))
        batch.create_foreign_key(
            "fk_candidates_retired_by_reviewers", "reviewers", ["retired_by"], ["id"]
        )
        batch.create_check_constraint(
            "admin_label", "admin_label IS NULL OR admin_label IN ('yes', 'no')"
        )


def downgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.drop_constraint("ck_candidates_admin_label", type_="check")
        batch.drop_constraint("fk_candidates_retired_by_reviewers", type_="foreignkey")
        batch.drop_column("admin_label")
        batch.drop_column("retired_by")
        batch.drop_column("retired_at")
    with op.batch_alter_table("reviewers") as batch:
        batch.drop_column("disabled_at")
