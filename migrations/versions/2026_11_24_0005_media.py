"""Media: files stored once per content (media_file) and the ordered media of each candidate

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 04:42:38.462875
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column(
            "meta",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_file")),
        sa.UniqueConstraint("public_id", name=op.f("uq_media_file_public_id")),
        sa.UniqueConstraint("sha256", name=op.f("uq_media_file_sha256")),
    )
    op.create_table(
        "candidate_media",
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_candidate_media_candidate_id_candidate"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media_file.id"], name=op.f("fk_candidate_media_media_id_media_file")
        ),
        sa.PrimaryKeyConstraint("candidate_id", "position", name=op.f("pk_candidate_media")),
    )
    with op.batch_alter_table("candidate_media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_candidate_media_media_id"), ["media_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("candidate_media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidate_media_media_id"))

    op.drop_table("candidate_media")
    op.drop_table("media_file")
