"""Vacuum comparisons eagerly on Postgres

Every lease and vote rewrites a comparison row, and `open_slots` is in the partial index the
assignment query walks, so those updates are never HOT: dead rows pile up at the front of the index.
Postgres's default (vacuum after 20% of the table changed) lets a 100k campaign read thousands of dead
entries per pick; vacuuming after 1% + 1,000 rows keeps the pick at a few buffers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE comparison SET (autovacuum_vacuum_scale_factor = 0.01, "
            "autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.02)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE comparison RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
            "autovacuum_analyze_scale_factor)"
        )
