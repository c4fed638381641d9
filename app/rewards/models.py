"""Reward models trained from a campaign's votes: one row per version, and the scores they give."""

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow


def new_reward_model_id() -> str:
    return secrets.token_hex(10)


class RewardModel(Base):
    """A trained version. Immutable once stored, apart from which version is active."""

    __tablename__ = "reward_model"
    __table_args__ = (
        UniqueConstraint("campaign_id", "version"),
        # At most one active version per campaign.
        Index(
            "ix_reward_model_active",
            "campaign_id",
            unique=True,
            postgresql_where=text("is_active"),
            sqlite_where=text("is_active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(20), unique=True, default=new_reward_model_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # The job that trained it; a rerun of that job updates this row instead of adding one.
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("job.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # What it was trained on: pair and vote counts and a hash of the training pairs.
    data_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    curve: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    artifact_path: Mapped[str] = mapped_column(String(1000))
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CandidateScore(Base):
    """A reward model's score for one candidate. Shown to researchers, never to annotators."""

    __tablename__ = "candidate_score"
    __table_args__ = (UniqueConstraint("reward_model_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reward_model_id: Mapped[int] = mapped_column(ForeignKey("reward_model.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
