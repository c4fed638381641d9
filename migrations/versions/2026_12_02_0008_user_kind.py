"""Annotator kind: user.kind is human or model (an LM judge's labels are a model's votes)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot add a check constraint to an existing table in place.
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=20), nullable=False, server_default="human"))
        batch.create_check_constraint(op.f("ck_user_user_kind"), "kind IN ('human', 'model')")


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_constraint(op.f("ck_user_user_kind"), type_="check")
        batch.drop_column("kind")
