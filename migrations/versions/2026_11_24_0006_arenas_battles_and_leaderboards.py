"""Arenas: systems, battles with their answers and tags, watched voters, leaderboard snapshots

Also lets a campaign's task kind be `arena`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 04:28:28.884099
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _task_kinds(*kinds: str) -> None:
    # The task kind is a CHECK-constrained string; SQLite can only change a CHECK by rebuilding the table.
    listed = ", ".join(f"'{k}'" for k in kinds)
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_task_kind"), type_="check")
        batch_op.create_check_constraint("task_kind", f"task_kind IN ({listed})")


def upgrade() -> None:
    _task_kinds("pairwise", "arena")
    op.create_table(
        "arena",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("vote_count", sa.Integer(), nullable=False),
        sa.Column("snapshot_vote_count", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_arena_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_arena_campaign_id")),
    )
    op.create_table(
        "arena_system",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("vendor", sa.String(length=200), nullable=False),
        sa.Column(
            "provider",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column(
            "targets",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("weight >= 0", name=op.f("ck_arena_system_weight_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_arena_system_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_system")),
        sa.UniqueConstraint("campaign_id", "name", name=op.f("uq_arena_system_campaign_id_name")),
    )
    op.create_table(
        "arena_voter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("voter_key", sa.String(length=80), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ok",
                "flagged",
                "excluded",
                "cleared",
                name="voter_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("statistic", sa.Float(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_arena_voter_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_voter")),
        sa.UniqueConstraint("campaign_id", "voter_key", name=op.f("uq_arena_voter_campaign_id_voter_key")),
    )
    op.create_table(
        "leaderboard_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("vote_count", sa.Integer(), nullable=False),
        sa.Column("computed_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_leaderboard_snapshot_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaderboard_snapshot")),
    )
    with op.batch_alter_table("leaderboard_snapshot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leaderboard_snapshot_latest", ["campaign_id", "category", "computed_at"], unique=False
        )

    op.create_table(
        "battle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("system_a_id", sa.Integer(), nullable=False),
        sa.Column("system_b_id", sa.Integer(), nullable=False),
        sa.Column("voter_key", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "generating",
                "ready",
                "failed",
                "voted",
                name="battle_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "winner",
            sa.Enum(
                "model_a",
                "model_b",
                "tie",
                "both_bad",
                name="battle_winner",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("vote_key", sa.String(length=200), nullable=True),
        sa.Column("voted_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("identity_leak", sa.Boolean(), nullable=False),
        sa.Column(
            "flags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_battle_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_battle_item_id_item"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["system_a_id"],
            ["arena_system.id"],
            name=op.f("fk_battle_system_a_id_arena_system"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_b_id"],
            ["arena_system.id"],
            name=op.f("fk_battle_system_b_id_arena_system"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_battle_user_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_battle")),
        sa.UniqueConstraint("public_id", name=op.f("uq_battle_public_id")),
        sa.UniqueConstraint("vote_key", name=op.f("uq_battle_vote_key")),
    )
    with op.batch_alter_table("battle", schema=None) as batch_op:
        batch_op.create_index("ix_battle_campaign_voted", ["campaign_id", "voted_at"], unique=False)
        batch_op.create_index("ix_battle_voter", ["campaign_id", "voter_key"], unique=False)

    op.create_table(
        "battle_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("battle_id", sa.Integer(), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=1), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "streaming",
                "done",
                "failed",
                name="answer_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("started_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("side in ('a', 'b')", name=op.f("ck_battle_answer_side_a_or_b")),
        sa.ForeignKeyConstraint(
            ["battle_id"], ["battle.id"], name=op.f("fk_battle_answer_battle_id_battle"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_battle_answer")),
        sa.UniqueConstraint("battle_id", "turn", "side", name=op.f("uq_battle_answer_battle_id_turn_side")),
    )
    op.create_table(
        "battle_tag",
        sa.Column("battle_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["battle_id"], ["battle.id"], name=op.f("fk_battle_tag_battle_id_battle"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("battle_id", "tag", name=op.f("pk_battle_tag")),
    )


def downgrade() -> None:
    op.drop_table("battle_tag")
    op.drop_table("battle_answer")
    with op.batch_alter_table("battle", schema=None) as batch_op:
        batch_op.drop_index("ix_battle_voter")
        batch_op.drop_index("ix_battle_campaign_voted")

    op.drop_table("battle")
    with op.batch_alter_table("leaderboard_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_leaderboard_snapshot_latest")

    op.drop_table("leaderboard_snapshot")
    op.drop_table("arena_voter")
    op.drop_table("arena_system")
    op.drop_table("arena")
    op.execute("DELETE FROM campaign WHERE task_kind = 'arena'")
    _task_kinds("pairwise")
