"""Task kinds: rating, ranking, segment, checklist, single; image/audio/video modalities; rubric
versions; single-output and k-output units; answers and listening logs on votes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
KINDS = ("pairwise", "arena", "rating", "ranking", "segment", "checklist", "single")
MODALITIES = ("text", "image", "audio", "video")


def _listed(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.create_table(
        "rubric",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("aspects", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_rubric_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric")),
        sa.UniqueConstraint("campaign_id", "version", name=op.f("uq_rubric_campaign_id_version")),
    )
    op.create_index(op.f("ix_rubric_campaign_id"), "rubric", ["campaign_id"], unique=False)
    # CHECK constraints and nullability change only by rebuilding the table on SQLite: batch mode.
    with op.batch_alter_table("campaign") as batch:
        batch.drop_constraint(op.f("ck_campaign_task_kind"), type_="check")
        batch.create_check_constraint("task_kind", f"task_kind IN ({_listed(KINDS)})")
        batch.drop_constraint(op.f("ck_campaign_modality"), type_="check")
        batch.create_check_constraint("modality", f"modality IN ({_listed(MODALITIES)})")
        batch.add_column(sa.Column("task_config", _JSON, server_default="{}", nullable=False))
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("questions", _JSON, server_default="[]", nullable=False))
    with op.batch_alter_table("comparison") as batch:
        batch.alter_column("candidate_b_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("members", _JSON, nullable=True))
    with op.batch_alter_table("assignment") as batch:
        batch.alter_column("right_candidate_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("shown_ids", _JSON, nullable=True))
    with op.batch_alter_table("vote") as batch:
        batch.alter_column("outcome", existing_type=sa.String(length=20), nullable=True)
        batch.add_column(sa.Column("answer", _JSON, server_default="{}", nullable=False))
        batch.add_column(sa.Column("rubric_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("listening_log", _JSON, nullable=True))
        batch.create_foreign_key(
            op.f("fk_vote_rubric_id_rubric"), "rubric", ["rubric_id"], ["id"], ondelete="RESTRICT"
        )


def downgrade() -> None:
    # Votes and units the old schema cannot hold go first: it has no answers and only pairs.
    op.execute("DELETE FROM vote WHERE outcome IS NULL")
    op.execute("DELETE FROM assignment WHERE right_candidate_id IS NULL OR shown_ids IS NOT NULL")
    op.execute("DELETE FROM comparison WHERE candidate_b_id IS NULL OR members IS NOT NULL")
    op.execute("DELETE FROM campaign WHERE task_kind NOT IN ('pairwise', 'arena')")
    op.execute("UPDATE campaign SET modality = 'text'")
    with op.batch_alter_table("vote") as batch:
        batch.drop_constraint(op.f("fk_vote_rubric_id_rubric"), type_="foreignkey")
        batch.drop_column("listening_log")
        batch.drop_column("rubric_id")
        batch.drop_column("answer")
        batch.alter_column("outcome", existing_type=sa.String(length=20), nullable=False)
    with op.batch_alter_table("assignment") as batch:
        batch.drop_column("shown_ids")
        batch.alter_column("right_candidate_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("comparison") as batch:
        batch.drop_column("members")
        batch.alter_column("candidate_b_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("item") as batch:
        batch.drop_column("questions")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("task_config")
        batch.drop_constraint(op.f("ck_campaign_modality"), type_="check")
        batch.create_check_constraint("modality", "modality IN ('text')")
        batch.drop_constraint(op.f("ck_campaign_task_kind"), type_="check")
        batch.create_check_constraint("task_kind", "task_kind IN ('pairwise', 'arena')")
    op.drop_index(op.f("ix_rubric_campaign_id"), table_name="rubric")
    op.drop_table("rubric")
