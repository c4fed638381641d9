"""Campaigns: what is judged, how, and by how many annotators."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow


class TaskKind(StrEnum):
    pairwise = "pairwise"
    arena = "arena"
    rating = "rating"
    ranking = "ranking"
    segment = "segment"
    checklist = "checklist"
    single = "single"


class Modality(StrEnum):
    text = "text"
    image = "image"
    audio = "audio"
    video = "video"


class CampaignStatus(StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    closed = "closed"


DEFAULT_SIDE_FLAGS = ["incorrect", "unsafe", "off_topic", "incomplete", "ignores_instructions"]


class Campaign(Base):
    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("overlap >= 1", name="overlap_positive"),
        CheckConstraint("lease_seconds >= 10", name="lease_at_least_10s"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    task_kind: Mapped[TaskKind] = mapped_column(
        Enum(TaskKind, native_enum=False, create_constraint=True, length=20, name="task_kind")
    )
    modality: Mapped[Modality] = mapped_column(
        Enum(Modality, native_enum=False, create_constraint=True, length=20, name="modality")
    )
    guidelines: Mapped[str] = mapped_column(Text, default="")
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    reveal_identities: Mapped[bool] = mapped_column(Boolean, default=False)
    require_rationale: Mapped[bool] = mapped_column(Boolean, default=False)
    side_flags: Mapped[list[str]] = mapped_column(JSONType, default=lambda: list(DEFAULT_SIDE_FLAGS))
    lease_seconds: Mapped[int] = mapped_column(Integer, default=600)
    license: Mapped[str] = mapped_column(String(100), default="")
    # app.tasks.schemas.TaskConfig, only the fields that differ from the defaults.
    task_config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    # app.selection.config.SelectionConfig, non-default fields only: {} hands out in import order.
    selection: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    # app.qc.schemas.QualityConfig, non-default fields only: {} means no quality control (and the
    # Postgres fast path may serve the campaign).
    quality: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    status: Mapped[CampaignStatus] = mapped_column(
        Enum(CampaignStatus, native_enum=False, create_constraint=True, length=20, name="campaign_status"),
        default=CampaignStatus.active,
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
