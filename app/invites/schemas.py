"""API shapes for invite links."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.auth.models import Role

MAX_DAYS = 90


class InviteCreate(BaseModel):
    role: Role = Role.annotator
    email: EmailStr | None = Field(None, description="only this address may sign up with the link")
    campaign: str | None = Field(None, max_length=100, description="slug of the campaign to land on")
    expires_in_days: float = Field(7, gt=0, le=MAX_DAYS)
    max_uses: int = Field(1, ge=1, le=10_000)
    note: str = Field("", max_length=200)


class InviteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    prefix: str
    role: Role
    email: str | None
    campaign: str | None
    note: str
    expires_at: datetime
    max_uses: int
    uses: int
    revoked_at: datetime | None
    created_at: datetime
    created_by: str | None
    state: str = Field(description="usable, expired, revoked or used up")


class InviteCreated(InviteRead):
    token: str = Field(description="Shown once; only its hash is stored.")
    link: str = Field(description="The sign-up link to send; shown once.")
