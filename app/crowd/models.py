"""A campaign's crowd study (Prolific or another platform) and the participants who entered it."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow

PROLIFIC_COMPLETION_URL = "https://app.prolific.com/submissions/complete?cc={code}"


class CrowdPlatform(StrEnum):
    prolific = "prolific"
    generic = "generic"


class CrowdStudy(Base):
    __tablename__ = "crowd_study"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), unique=True)
    platform: Mapped[CrowdPlatform] = mapped_column(
        Enum(CrowdPlatform, native_enum=False, create_constraint=True, length=20, name="crowd_platform"),
        default=CrowdPlatform.prolific,
    )
    completion_code: Mapped[str] = mapped_column(String(64))
    # "{code}" is replaced by the completion code.
    completion_url: Mapped[str] = mapped_column(String(500), default=PROLIFIC_COMPLETION_URL)
    # None: the participant is done when the campaign has no more work for them.
    required_votes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    participant_param: Mapped[str] = mapped_column(String(40), default="PROLIFIC_PID")
    study_param: Mapped[str] = mapped_column(String(40), default="STUDY_ID")
    session_param: Mapped[str] = mapped_column(String(40), default="SESSION_ID")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CrowdParticipant(Base):
    __tablename__ = "crowd_participant"
    __table_args__ = (UniqueConstraint("campaign_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # The platform's ids, kept for paying and approving; exports name the user by pseudonym only.
    participant_id: Mapped[str] = mapped_column(String(64))
    study_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str] = mapped_column(String(64))
    session_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    entries: Mapped[int] = mapped_column(Integer, default=1)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    remote_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
