"""LM judges, their prompt versions, and their judgements of a campaign's pairs."""

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Enum, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, JSONType, UTCDateTime, utcnow


def new_judge_id() -> str:
    return secrets.token_hex(10)


class ShownVerdict(StrEnum):
    """A side as shown to the judge (see app.routing.judge)."""

    first = "first"
    second = "second"
    tie = "tie"


class JudgeLabel(StrEnum):
    """A side of the comparison as stored: candidate a, candidate b, or neither."""

    a = "a"
    b = "b"
    tie = "tie"


class LMJudge(Base):
    __tablename__ = "lm_judge"
    __table_args__ = (UniqueConstraint("campaign_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(20), unique=True, default=new_judge_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The annotator (kind model) whose votes carry this judge's labels.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    # app.judging.schemas.JudgeProvider; never a secret (an API key is named by its variable).
    provider: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # app.judging.schemas.JudgeSampling
    sampling: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class JudgePrompt(Base):
    """A version of a judge's prompt template; frozen once a judgement used it."""

    __tablename__ = "judge_prompt"
    __table_args__ = (UniqueConstraint("judge_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("lm_judge.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _verdict_enum(name: str) -> Enum:
    return Enum(ShownVerdict, native_enum=False, create_constraint=True, length=10, name=name)


class Judgement(Base):
    """One judge's label for one pair under one prompt version: both orders, and what they add up to.

    A provider failure is stored too (verdicts null, `error` set) so a rerun knows to try that pair
    again; a judged pair is never judged twice under the same prompt version.
    """

    __tablename__ = "judgement"
    __table_args__ = (UniqueConstraint("comparison_id", "judge_id", "prompt_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(20), unique=True, default=new_judge_id)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparison.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("lm_judge.id", ondelete="CASCADE"), index=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("judge_prompt.id", ondelete="RESTRICT"))
    # forward: candidate a shown first; backward: candidate b shown first.
    forward_verdict: Mapped[ShownVerdict | None] = mapped_column(
        _verdict_enum("forward_verdict"), nullable=True
    )
    forward_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    forward_output: Mapped[str] = mapped_column(Text, default="")
    backward_verdict: Mapped[ShownVerdict | None] = mapped_column(
        _verdict_enum("backward_verdict"), nullable=True
    )
    backward_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    backward_output: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[JudgeLabel | None] = mapped_column(
        Enum(JudgeLabel, native_enum=False, create_constraint=True, length=10, name="judge_label"),
        nullable=True,
    )
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    swap_consistent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("vote.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
