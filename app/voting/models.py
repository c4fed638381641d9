"""Assignments (an annotator's lease on a comparison, with the side order shown) and votes."""

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, JSONType, UTCDateTime, utcnow
from app.items.models import Comparison


def new_assignment_id() -> str:
    return secrets.token_hex(16)


class AssignmentStatus(StrEnum):
    leased = "leased"
    completed = "completed"
    expired = "expired"


class Outcome(StrEnum):
    preference = "preference"
    tie = "tie"
    both_bad = "both_bad"


class Assignment(Base):
    __tablename__ = "assignment"
    __table_args__ = (
        # Nobody is shown the same comparison twice.
        UniqueConstraint("comparison_id", "annotator_id"),
        Index("ix_assignment_annotator_status", "annotator_id", "campaign_id", "status"),
        Index("ix_assignment_status_lease", "campaign_id", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_assignment_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparison.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # The side order this annotator saw: left is "A", right is "B".
    left_candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id", ondelete="CASCADE"))
    right_candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), nullable=True
    )
    # Every candidate in the order shown, when more than two are (rankings).
    shown_ids: Mapped[list[int] | None] = mapped_column(JSONType, nullable=True)
    status: Mapped[AssignmentStatus] = mapped_column(
        Enum(
            AssignmentStatus, native_enum=False, create_constraint=True, length=20, name="assignment_status"
        ),
        default=AssignmentStatus.leased,
    )
    leased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    comparison: Mapped[Comparison] = relationship()


class Vote(Base):
    __tablename__ = "vote"
    __table_args__ = (
        UniqueConstraint("annotator_id", "idempotency_key"),
        CheckConstraint("strength BETWEEN 0 AND 3", name="strength_range"),
        CheckConstraint(
            "(outcome = 'preference' AND winner_candidate_id IS NOT NULL AND loser_candidate_id IS NOT NULL)"
            " OR (outcome <> 'preference' AND winner_candidate_id IS NULL AND loser_candidate_id IS NULL)",
            name="winner_matches_outcome",
        ),
        Index("ix_vote_campaign_annotator", "campaign_id", "annotator_id"),
        Index("ix_vote_campaign_id", "campaign_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_assignment_id)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparison.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # Null for task kinds that ask no A/B preference (ratings of one output, rankings, checklists...).
    outcome: Mapped[Outcome | None] = mapped_column(
        Enum(Outcome, native_enum=False, create_constraint=True, length=20, name="outcome"), nullable=True
    )
    # The winner is a candidate, never a side: side order differs per annotator.
    winner_candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), nullable=True
    )
    loser_candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), nullable=True
    )
    # How much better the winner is: 1 slightly .. 3 much; 0 unsure; null when not asked.
    strength: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    rationale: Mapped[str] = mapped_column(Text, default="")
    # {candidate public id: [flag, ...]}
    flags: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # app.tasks.schemas.TaskAnswer with sides mapped to candidate public ids (see tasks.answers).
    answer: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    rubric_id: Mapped[int | None] = mapped_column(ForeignKey("rubric.id", ondelete="RESTRICT"), nullable=True)
    # [{"candidate", "event", "media_s", "wall_ms"}, ...] as the players logged them.
    listening_log: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, nullable=True)
    time_on_task_ms: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Scored against the known answer on gold and qualification items; null on data items.
    gold_correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assignment: Mapped[Assignment] = relationship()
