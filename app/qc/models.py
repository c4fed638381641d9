"""Per-campaign standing of an annotator: gold accuracy, qualification, pause."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, Float, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class ItemRole(StrEnum):
    data = "data"
    gold = "gold"  # a known answer mixed in at the campaign's gold rate
    qualification = "qualification"  # a known answer asked first, when the campaign requires a test


class AnnotatorStatus(StrEnum):
    active = "active"
    paused = "paused"


class QualificationStatus(StrEnum):
    pending = "pending"
    passed = "passed"
    failed = "failed"


class CampaignAnnotator(Base):
    """One row per annotator who asked for work in a campaign with quality control."""

    __tablename__ = "campaign_annotator"
    __table_args__ = (UniqueConstraint("campaign_id", "annotator_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    status: Mapped[AnnotatorStatus] = mapped_column(
        Enum(AnnotatorStatus, native_enum=False, create_constraint=True, length=16, name="annotator_status"),
        default=AnnotatorStatus.active,
    )
    paused_reason: Mapped[str] = mapped_column(Text, default="")
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resumed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True
    )
    qualification_status: Mapped[QualificationStatus] = mapped_column(
        Enum(
            QualificationStatus,
            native_enum=False,
            create_constraint=True,
            length=16,
            name="qualification_status",
        ),
        default=QualificationStatus.pending,
    )
    qualification_answered: Mapped[int] = mapped_column(Integer, default=0)
    qualification_correct: Mapped[int] = mapped_column(Integer, default=0)
    # correct / number of qualification items, once judged.
    qualification_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Gold votes since the annotator started or was last resumed: what the pause rule judges.
    gold_answered: Mapped[int] = mapped_column(Integer, default=0)
    gold_correct: Mapped[int] = mapped_column(Integer, default=0)
    # Votes on data items (not gold, not qualification): what the quota counts.
    data_votes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
