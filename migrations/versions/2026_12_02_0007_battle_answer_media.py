"""Arena answers that are media files: battle_answer.media_id

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table("battle_answer") as batch:
        batch.add_column(sa.Column("media_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_battle_answer_media_id_media_file"), "media_file", ["media_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("battle_answer") as batch:
        batch.drop_constraint(batch.f("fk_battle_answer_media_id_media_file"), type_="foreignkey")
        batch.drop_column("media_id")
