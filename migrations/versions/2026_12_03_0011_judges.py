"""Judges: LM judges (each voting as an annotator of kind model), their prompt versions and judgements

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _verdict(name: str) -> sa.Enum:
    return sa.Enum("first", "second", "tie", name=name, native_enum=False, create_constraint=True, length=10)


def upgrade() -> None:
    op.create_table(
        "lm_judge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=20), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", _JSON, nullable=False),
        sa.Column("sampling", _JSON, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_lm_judge_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_lm_judge_created_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_lm_judge_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lm_judge")),
        sa.UniqueConstraint("campaign_id", "name", name=op.f("uq_lm_judge_campaign_id_name")),
        sa.UniqueConstraint("public_id", name=op.f("uq_lm_judge_public_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_lm_judge_user_id")),
    )
    op.create_index(op.f("ix_lm_judge_campaign_id"), "lm_judge", ["campaign_id"], unique=False)

    op.create_table(
        "judge_prompt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("judge_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["judge_id"], ["lm_judge.id"], name=op.f("fk_judge_prompt_judge_id_lm_judge"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judge_prompt")),
        sa.UniqueConstraint("judge_id", "version", name=op.f("uq_judge_prompt_judge_id_version")),
    )
    op.create_index(op.f("ix_judge_prompt_judge_id"), "judge_prompt", ["judge_id"], unique=False)

    op.create_table(
        "judgement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=20), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("judge_id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("forward_verdict", _verdict("forward_verdict"), nullable=True),
        sa.Column("forward_confidence", sa.Float(), nullable=True),
        sa.Column("forward_output", sa.Text(), nullable=False),
        sa.Column("backward_verdict", _verdict("backward_verdict"), nullable=True),
        sa.Column("backward_confidence", sa.Float(), nullable=True),
        sa.Column("backward_output", sa.Text(), nullable=False),
        sa.Column(
            "label",
            sa.Enum(
                "a", "b", "tie", name="judge_label", native_enum=False, create_constraint=True, length=10
            ),
            nullable=True,
        ),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("swap_consistent", sa.Boolean(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["comparison.id"],
            name=op.f("fk_judgement_comparison_id_comparison"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["judge_id"], ["lm_judge.id"], name=op.f("fk_judgement_judge_id_lm_judge"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["judge_prompt.id"],
            name=op.f("fk_judgement_prompt_id_judge_prompt"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["vote.id"], name=op.f("fk_judgement_vote_id_vote"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgement")),
        sa.UniqueConstraint(
            "comparison_id",
            "judge_id",
            "prompt_id",
            name=op.f("uq_judgement_comparison_id_judge_id_prompt_id"),
        ),
        sa.UniqueConstraint("public_id", name=op.f("uq_judgement_public_id")),
    )
    op.create_index(op.f("ix_judgement_comparison_id"), "judgement", ["comparison_id"], unique=False)
    op.create_index(op.f("ix_judgement_judge_id"), "judgement", ["judge_id"], unique=False)


def downgrade() -> None:
    op.drop_table("judgement")
    op.drop_table("judge_prompt")
    op.drop_table("lm_judge")
