"""Writing and reading the audit log. No HTTP here; callers commit."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.auth.models import User
from app.errors import Invalid

MAX_PAGE = 500


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: str | int | None,
    details: dict[str, Any] | None = None,
    remote_addr: str | None = None,
) -> AuditEvent:
    """Appends one event, in the caller's transaction: an action rolled back leaves no trace here."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        details=dict(details or {}),
        remote_addr=remote_addr[:64] if remote_addr else None,
    )
    session.add(event)
    session.flush()
    return event


def list_events(
    session: Session,
    *,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    actor_id: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """Newest first; `before` is the id of the last event of the previous page (keyset pagination)."""
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        # "user." matches every user action; a full name matches only itself.
        if action.endswith("."):
            query = query.where(AuditEvent.action.startswith(action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return list(session.scalars(query))
