"""Shapes for a campaign's crowd study and its participants."""

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.crowd.models import PROLIFIC_COMPLETION_URL, CrowdPlatform

_PARAM = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class CrowdStudyConfig(BaseModel):
    """What a researcher sets; the defaults are Prolific's."""

    platform: CrowdPlatform = CrowdPlatform.prolific
    completion_code: str = Field(min_length=1, max_length=64)
    completion_url: str = Field(PROLIFIC_COMPLETION_URL, max_length=500)
    required_votes: int | None = Field(None, ge=1, le=100_000)
    is_open: bool = True
    participant_param: str = "PROLIFIC_PID"
    study_param: str = "STUDY_ID"
    session_param: str = "SESSION_ID"

    @field_validator("completion_code")
    @classmethod
    def _code(cls, value: str) -> str:
        value = value.strip()
        if not _CODE.match(value):
            raise ValueError("use letters, digits, '-' and '_' only (at most 64)")
        return value

    @field_validator("completion_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        # Participants are sent there automatically: only a web address, never javascript: or data:.
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) address; {code} is replaced by the completion code")
        return value

    @field_validator("participant_param", "study_param", "session_param")
    @classmethod
    def _param(cls, value: str) -> str:
        value = value.strip()
        if not _PARAM.match(value):
            raise ValueError("a query parameter name: a letter, then letters, digits or '_' (at most 40)")
        return value


class CrowdStudyRead(CrowdStudyConfig):
    model_config = ConfigDict(from_attributes=True)

    campaign: str
    entry_url: str = Field(description="the link to give the platform, with its placeholders")


class CrowdParticipantRead(BaseModel):
    participant_id: str
    study_id: str
    session_id: str
    session_ids: list[str]
    entries: int
    pseudonym: str
    votes: int
    entered_at: datetime
    last_entered_at: datetime
    completed_at: datetime | None
