"""Selection: a campaign's pair-selection strategy, and each comparison's system pair

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("selection", _JSON, server_default="{}", nullable=False))
    with op.batch_alter_table("comparison") as batch:
        batch.add_column(sa.Column("pair_key", sa.String(length=401), nullable=True))
    # The two systems of every existing pair, sorted as Python sorts (not by the database's collation,
    # which the application does not use), joined by a unit separator.
    bind = op.get_bind()
    # A ranking's `members` may hold JSON null rather than SQL NULL: read it, do not filter on it.
    rows = bind.execute(
        sa.text(
            "SELECT c.id, a.system, b.system, c.members FROM comparison c "
            "JOIN candidate a ON a.id = c.candidate_a_id JOIN candidate b ON b.id = c.candidate_b_id"
        )
    ).all()
    pairs = [row for row in rows if row[3] in (None, "null")]
    if pairs:
        bind.execute(
            sa.text("UPDATE comparison SET pair_key = :key WHERE id = :id"),
            [{"id": row[0], "key": "\x1f".join(sorted((row[1], row[2])))} for row in pairs],
        )
    op.create_index(
        "ix_comparison_open_pair",
        "comparison",
        ["campaign_id", "pair_key"],
        unique=False,
        postgresql_where=sa.text("open_slots > 0"),
        sqlite_where=sa.text("open_slots > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_comparison_open_pair", table_name="comparison")
    with op.batch_alter_table("comparison") as batch:
        batch.drop_column("pair_key")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("selection")
