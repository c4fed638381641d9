"""Media files (images, audio, video) stored once per content, and their order within a candidate."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow
from app.items.models import new_public_id


class MediaFile(Base):
    """One stored file. The bytes live at data_dir/media/<aa>/<bb>/<sha256>; the row says what they are.

    URLs name the random `public_id` only: a hash or a counter could be matched against a system's
    known outputs, which would tell annotators who made a candidate.
    """

    __tablename__ = "media_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    mime: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    # Read from the file's header when that is cheap (an image's width and height), else empty.
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CandidateMedia(Base):
    """The media of a candidate, in the order shown (several images for one candidate, say)."""

    __tablename__ = "candidate_media"

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Files are shared by content across candidates and campaigns, so deleting a candidate keeps them.
    media_id: Mapped[int] = mapped_column(ForeignKey("media_file.id"), index=True)
