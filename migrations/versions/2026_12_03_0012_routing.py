"""Routing: a campaign's plan (judge, human budget, alpha, calibration slice, fitted router) and the
route of each pair (calibration, human or judge)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "routing_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("judge_id", sa.Integer(), nullable=False),
        sa.Column("human_budget", sa.Float(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("calibration_size", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "calibrating",
                "routed",
                name="routing_plan_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("router", _JSON, nullable=True),
        sa.Column("fit_job_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_routing_plan_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_routing_plan_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["fit_job_id"], ["job.id"], name=op.f("fk_routing_plan_fit_job_id_job"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["judge_id"], ["lm_judge.id"], name=op.f("fk_routing_plan_judge_id_lm_judge"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_plan")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_routing_plan_campaign_id")),
    )
    op.create_index(op.f("ix_routing_plan_judge_id"), "routing_plan", ["judge_id"], unique=False)

    op.create_table(
        "routing_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column(
            "route",
            sa.Enum(
                "calibration",
                "human",
                "judge",
                name="routing_route",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("p_agree", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["comparison.id"],
            name=op.f("fk_routing_decision_comparison_id_comparison"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["routing_plan.id"],
            name=op.f("fk_routing_decision_plan_id_routing_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decision")),
        sa.UniqueConstraint("comparison_id", name=op.f("uq_routing_decision_comparison_id")),
    )
    op.create_index(op.f("ix_routing_decision_plan_id"), "routing_decision", ["plan_id"], unique=False)


def downgrade() -> None:
    op.drop_table("routing_decision")
    op.drop_table("routing_plan")
