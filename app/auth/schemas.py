"""API shapes for users and tokens."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from app.auth.models import Role, UserKind


class UserCreate(BaseModel):
    email: EmailStr
    password: str | None = Field(None, min_length=12, max_length=1024, description="not for a model")
    role: Role = Role.annotator
    kind: UserKind = Field(UserKind.human, description="model: an LM judge, which votes with a token")

    @model_validator(mode="after")
    def _password_for_people(self) -> "UserCreate":
        if self.kind == UserKind.human and self.password is None:
            raise ValueError("a password is required for a human user")
        if self.kind == UserKind.model and self.password is not None:
            raise ValueError("a model annotator has no password; it votes with an API token")
        return self


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    role: Role
    kind: UserKind
    pseudonym: str
    is_active: bool
    created_at: datetime


class TokenCreate(BaseModel):
    name: str = Field("", max_length=100)


class TokenCreated(BaseModel):
    token: str = Field(description="Shown once; only its hash is stored.")
    prefix: str
    name: str


class UserUpdate(BaseModel):
    """An admin's change to an account; fields left out stay as they are."""

    role: Role | None = None
    is_active: bool | None = None
