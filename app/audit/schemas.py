"""API shapes for the audit log."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    actor_label: str
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]
    remote_addr: str | None


class AuditPage(BaseModel):
    events: list[AuditEventRead]
    next_before: int | None
