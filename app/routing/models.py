"""A campaign's routing plan (which pairs its LM judge labels, which need people) and each pair's route."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, Float, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow


class PlanStatus(StrEnum):
    """draft: the slice is drawn, labels are being gathered; calibrating: a fit job is queued or running;
    routed: the fitted router's decisions are in place."""

    draft = "draft"
    calibrating = "calibrating"
    routed = "routed"


class Route(StrEnum):
    calibration = "calibration"  # labelled by both, to learn when the judge agrees with people
    human = "human"  # the human budget: left open for annotators
    judge = "judge"  # the judge's vote is the label; taken out of the human queue


class RoutingPlan(Base):
    __tablename__ = "routing_plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), unique=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("lm_judge.id", ondelete="CASCADE"), index=True)
    human_budget: Mapped[float] = mapped_column(Float, default=0.25)  # share of the routed pairs
    alpha: Mapped[float] = mapped_column(Float, default=0.1)
    calibration_size: Mapped[int] = mapped_column(Integer, default=40)
    status: Mapped[PlanStatus] = mapped_column(
        Enum(PlanStatus, native_enum=False, create_constraint=True, length=20, name="routing_plan_status"),
        default=PlanStatus.draft,
    )
    # app.routing.schemas.FittedRouter: enough to re-apply the router to newly judged pairs.
    router: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    fit_job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingDecision(Base):
    """Where one pair goes under its campaign's plan; a pair without one is not routed (yet)."""

    __tablename__ = "routing_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparison.id", ondelete="CASCADE"), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("routing_plan.id", ondelete="CASCADE"), index=True)
    route: Mapped[Route] = mapped_column(
        Enum(Route, native_enum=False, create_constraint=True, length=20, name="routing_route")
    )
    p_agree: Mapped[float | None] = mapped_column(Float, nullable=True)  # the router's, once fitted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
