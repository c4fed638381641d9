"""Users and their API tokens."""

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    annotator = "annotator"
    researcher = "researcher"
    admin = "admin"

    @property
    def rank(self) -> int:
        return {"annotator": 0, "researcher": 1, "admin": 2}[self.value]

    def at_least(self, other: "Role") -> bool:
        return self.rank >= other.rank


class UserKind(StrEnum):
    """Who gives the labels: a person, or a model (an LM judge) whose votes are flagged everywhere."""

    human = "human"
    model = "model"


def new_pseudonym() -> str:
    return "ann_" + secrets.token_hex(8)


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, create_constraint=True, length=20, name="role")
    )
    kind: Mapped[UserKind] = mapped_column(
        Enum(UserKind, native_enum=False, create_constraint=True, length=20, name="user_kind"),
        default=UserKind.human,
        server_default=UserKind.human.value,
    )
    # Exports name annotators by this, never by email or database id.
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True, default=new_pseudonym)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_researcher(self) -> bool:
        return self.role.at_least(Role.researcher)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # sha256 of the token: tokens are 256-bit random, so a slow hash adds nothing but latency.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")
