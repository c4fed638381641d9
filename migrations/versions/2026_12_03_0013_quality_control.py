"""Quality control: gold and attention items, qualification, quotas, annotator pauses

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("quality", _JSON, server_default="{}", nullable=False))
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), server_default="data", nullable=False))
        batch.add_column(sa.Column("gold_answer", _JSON, server_default="{}", nullable=False))
    with op.batch_alter_table("vote") as batch:
        batch.add_column(sa.Column("gold_correct", sa.Boolean(), nullable=True))

    op.create_table(
        "campaign_annotator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "paused",
                name="annotator_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("paused_reason", sa.Text(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "qualification_status",
            sa.Enum(
                "pending",
                "passed",
                "failed",
                name="qualification_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("qualification_answered", sa.Integer(), nullable=False),
        sa.Column("qualification_correct", sa.Integer(), nullable=False),
        sa.Column("qualification_score", sa.Float(), nullable=True),
        sa.Column("gold_answered", sa.Integer(), nullable=False),
        sa.Column("gold_correct", sa.Integer(), nullable=False),
        sa.Column("data_votes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotator_id"],
            ["user.id"],
            name=op.f("fk_campaign_annotator_annotator_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_campaign_annotator_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resumed_by_id"],
            ["user.id"],
            name=op.f("fk_campaign_annotator_resumed_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_annotator")),
        sa.UniqueConstraint(
            "campaign_id", "annotator_id", name=op.f("uq_campaign_annotator_campaign_id_annotator_id")
        ),
    )
    op.create_index(
        op.f("ix_campaign_annotator_annotator_id"), "campaign_annotator", ["annotator_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_campaign_annotator_annotator_id"), table_name="campaign_annotator")
    op.drop_table("campaign_annotator")
    with op.batch_alter_table("vote") as batch:
        batch.drop_column("gold_correct")
    with op.batch_alter_table("item") as batch:
        batch.drop_column("gold_answer")
        batch.drop_column("role")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("quality")
