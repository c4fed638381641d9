"""API shapes for jobs."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.jobs.models import JobStatus


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(validation_alias="public_id")
    kind: str
    queue: str = Field(description="the Celery queue it was sent to: default, cpu or gpu")
    status: JobStatus
    campaign: str | None = None
    progress: float
    message: str
    params: dict[str, Any]
    points: list[dict[str, Any]]
    result: dict[str, Any]
    error: str
    cancel_requested: bool
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None = None
