"""Items (a prompt with context), their candidates (system outputs) and the comparisons to judge."""

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, JSONType, UTCDateTime, utcnow

# The unit separator: it does not occur in system names typed or imported as text.
PAIR_SEPARATOR = "\x1f"


def pair_key(first: str, second: str) -> str:
    return PAIR_SEPARATOR.join(sorted((first, second)))


def new_public_id() -> str:
    # Random rather than sequential: import order often follows the system, so a counter would leak it.
    return secrets.token_hex(12)


class Item(Base):
    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("campaign_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Checklist questions given at import: [{"id", "text"}, ...].
    questions: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list, server_default="[]")
    # "data", "gold" or "qualification" (app.qc.models.ItemRole); gold and qualification items carry
    # their known answer (shapes in app.qc.schemas) and are handed out by app.qc, never by open slots.
    role: Mapped[str] = mapped_column(String(16), default="data", server_default="data")
    gold_answer: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    candidates: Mapped[list["Candidate"]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="Candidate.id"
    )


class Candidate(Base):
    __tablename__ = "candidate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship(back_populates="candidates")


class Comparison(Base):
    """One unit of work on one item, to be judged by `campaign.overlap` distinct annotators.

    A pair (a, b) for pairwise kinds; one candidate (b is null) for single-output kinds; for a ranking,
    a and b are the first two of `members`, which lists every candidate to order.
    """

    __tablename__ = "comparison"
    __table_args__ = (
        UniqueConstraint("item_id", "candidate_a_id", "candidate_b_id"),
        CheckConstraint("candidate_a_id <> candidate_b_id", name="distinct_candidates"),
        CheckConstraint("open_slots >= 0", name="open_slots_not_negative"),
        # The assignment query walks only comparisons that still need someone, in the order it hands
        # them out, so its cost does not grow with the finished part of a campaign. No other index gives
        # that order, so the planner cannot prefer the primary key and skip the finished rows one by one.
        Index(
            "ix_comparison_queue",
            "campaign_id",
            text("priority DESC"),
            "id",
            postgresql_where=text("open_slots > 0"),
            sqlite_where=text("open_slots > 0"),
        ),
        # Active selection claims an open comparison of the system pair it chose.
        Index(
            "ix_comparison_open_pair",
            "campaign_id",
            "pair_key",
            postgresql_where=text("open_slots > 0"),
            sqlite_where=text("open_slots > 0"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    candidate_a_id: Mapped[int] = mapped_column(ForeignKey("candidate.id", ondelete="CASCADE"))
    candidate_b_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), nullable=True
    )
    members: Mapped[list[int] | None] = mapped_column(JSONType, nullable=True)
    # A pair's two systems, sorted and joined by PAIR_SEPARATOR; null for other units.
    pair_key: Mapped[str | None] = mapped_column(String(401), nullable=True)
    # overlap minus live assignments (leased or voted); an expired lease gives its slot back.
    open_slots: Mapped[int] = mapped_column(Integer)
    vote_count: Mapped[int] = mapped_column(Integer, default=0)
    # Handed out highest first, then in import order; the import line's "priority" (default 0).
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()
    candidate_a: Mapped[Candidate] = relationship(foreign_keys=[candidate_a_id])
    candidate_b: Mapped[Candidate | None] = relationship(foreign_keys=[candidate_b_id])
