"""A dataset release: an immutable, numbered snapshot of a campaign's votes written as files."""

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow


def new_release_id() -> str:
    return "rel_" + secrets.token_hex(8)


class Release(Base):
    __tablename__ = "release"
    __table_args__ = (
        UniqueConstraint("campaign_id", "version"),
        # The same request on the same snapshot finds its release instead of writing a copy.
        Index("ix_release_campaign_request", "campaign_id", "request_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_release_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    formats: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # app.releases.schemas.ReleaseFilters, as given (defaults filled in).
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The snapshot: votes of the campaign with id <= max_vote_id (0: none); vote_count of them kept.
    max_vote_id: Mapped[int] = mapped_column(Integer)
    vote_count: Mapped[int] = mapped_column(Integer)
    # sha256 over the data files' names and sha256s (the card is left out: it prints this hash).
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # [{"name", "sha256", "bytes", "rows", "format"}], the card last (rows null).
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    card: Mapped[str] = mapped_column(Text, default="")
    # sha256 of (formats, filters, snapshot): the same request on the same votes has the same key.
    request_key: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hub_repo: Mapped[str | None] = mapped_column(String(200), nullable=True)
    hub_revision: Mapped[str | None] = mapped_column(String(100), nullable=True)
    hub_pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
