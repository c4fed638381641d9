"""Arena campaigns: the systems that battle, the battles (one prompt or conversation, two anonymous
answers, one vote), the voters under watch, and the leaderboard snapshots computed from the votes."""

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, JSONType, UTCDateTime, utcnow
from app.media.models import MediaFile


def new_battle_id() -> str:
    # Random: a counter would tell a voter how busy the arena is and let battles be guessed.
    return secrets.token_hex(12)


class Arena(Base):
    """The arena settings of a campaign whose task kind is `arena` (validated by `schemas.ArenaConfig`)."""

    __tablename__ = "arena"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), unique=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Votes counted so far and at the last leaderboard snapshot: a refresh is due every N votes.
    vote_count: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_vote_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArenaSystem(Base):
    """A model in the arena and how to reach it. The provider config never holds a secret."""

    __tablename__ = "arena_system"
    __table_args__ = (
        UniqueConstraint("campaign_id", "name"),
        CheckConstraint("weight >= 0", name="weight_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    vendor: Mapped[str] = mapped_column(String(200), default="")
    provider: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    # For targeted sampling: a new system meets these opponents about half of the time.
    targets: Mapped[list[str]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BattleStatus(StrEnum):
    generating = "generating"
    ready = "ready"
    failed = "failed"
    voted = "voted"


class Winner(StrEnum):
    """FastChat's names, so exports and `preflab leaderboard` read the same values."""

    model_a = "model_a"
    model_b = "model_b"
    tie = "tie"
    both_bad = "tie (bothbad)"


class Battle(Base):
    __tablename__ = "battle"
    __table_args__ = (
        Index("ix_battle_campaign_voted", "campaign_id", "voted_at"),
        Index("ix_battle_voter", "campaign_id", "voter_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_battle_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    system_a_id: Mapped[int] = mapped_column(ForeignKey("arena_system.id", ondelete="CASCADE"))
    system_b_id: Mapped[int] = mapped_column(ForeignKey("arena_system.id", ondelete="CASCADE"))
    # "user:<id>" or "anon:<random>": one key for signed-in and anonymous voters alike.
    voter_key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), nullable=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("item.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[BattleStatus] = mapped_column(
        Enum(BattleStatus, native_enum=False, create_constraint=True, length=20, name="battle_status"),
        default=BattleStatus.generating,
    )
    turns: Mapped[int] = mapped_column(Integer, default=1)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    winner: Mapped[Winner | None] = mapped_column(
        Enum(Winner, native_enum=False, create_constraint=True, length=20, name="battle_winner"),
        nullable=True,
    )
    vote_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    voted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # An answer named its own system or vendor: the vote is kept but left out of the leaderboard.
    identity_leak: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    system_a: Mapped[ArenaSystem] = relationship(foreign_keys=[system_a_id])
    system_b: Mapped[ArenaSystem] = relationship(foreign_keys=[system_b_id])
    answers: Mapped[list["BattleAnswer"]] = relationship(
        back_populates="battle",
        order_by="(BattleAnswer.turn, BattleAnswer.side)",
        cascade="all, delete-orphan",
    )


class AnswerStatus(StrEnum):
    pending = "pending"
    streaming = "streaming"
    done = "done"
    failed = "failed"


class BattleAnswer(Base):
    """One side's answer in one turn. Written piece by piece while it streams, by whichever process
    generates it (a web thread or a worker); the page reads it back from here."""

    __tablename__ = "battle_answer"
    __table_args__ = (
        UniqueConstraint("battle_id", "turn", "side"),
        CheckConstraint("side in ('a', 'b')", name="side_a_or_b"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    battle_id: Mapped[int] = mapped_column(ForeignKey("battle.id", ondelete="CASCADE"))
    turn: Mapped[int] = mapped_column(Integer)
    side: Mapped[str] = mapped_column(String(1))
    prompt: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[AnswerStatus] = mapped_column(
        Enum(AnswerStatus, native_enum=False, create_constraint=True, length=20, name="answer_status"),
        default=AnswerStatus.pending,
    )
    error: Mapped[str] = mapped_column(Text, default="")
    # Generation metadata (latency, tokens, seed) and the style features the leaderboard controls for.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    # An answer that is a file (audio, image, video from a `command` system), kept in the media store.
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media_file.id"), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    battle: Mapped[Battle] = relationship(back_populates="answers")
    media: Mapped[MediaFile | None] = relationship(lazy="joined")


class BattleTag(Base):
    """A battle's categories (its prompt's tags), one row each so the leaderboard groups them in SQL."""

    __tablename__ = "battle_tag"

    battle_id: Mapped[int] = mapped_column(ForeignKey("battle.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)


class VoterStatus(StrEnum):
    ok = "ok"
    flagged = "flagged"
    excluded = "excluded"
    cleared = "cleared"


class ArenaVoter(Base):
    """What the anomalous-voter check last said of a voter, and what an admin decided."""

    __tablename__ = "arena_voter"
    __table_args__ = (UniqueConstraint("campaign_id", "voter_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    voter_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[VoterStatus] = mapped_column(
        Enum(VoterStatus, native_enum=False, create_constraint=True, length=20, name="voter_status"),
        default=VoterStatus.ok,
    )
    statistic: Mapped[float] = mapped_column(Float, default=0.0)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeaderboardSnapshot(Base):
    """One computed leaderboard (overall or a category), stamped with the votes it counted."""

    __tablename__ = "leaderboard_snapshot"
    __table_args__ = (Index("ix_leaderboard_snapshot_latest", "campaign_id", "category", "computed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(100), default="")
    vote_count: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
