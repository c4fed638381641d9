"""API shapes for users and tokens."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.auth.models import Role


class UserCreate(BaseModel):
    email: EmailStr
    password: str = Field(min_length=12, max_length=1024)
    role: Role = Role.annotator


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    role: Role
    pseudonym: str
    is_active: bool
    created_at: datetime


class TokenCreate(BaseModel):
    name: str = Field("", max_length=100)


class TokenCreated(BaseModel):
    token: str = Field(description="Shown once; only its hash is stored.")
    prefix: str
    name: str
