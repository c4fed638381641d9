"""JSON API for the audit log (admins only)."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AuditEventRead, AuditPage
from app.deps import Admin, SessionDep

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def list_events(
    session: SessionDep,
    admin: Admin,
    action: Annotated[
        str | None, Query(max_length=64, description='exact, or a prefix ending in "."')
    ] = None,
    target_type: Annotated[str | None, Query(max_length=40)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    before: Annotated[int | None, Query(description="id of the last event of the previous page")] = None,
) -> AuditPage:
    """Newest first; pass `next_before` back as `before` for the next page."""
    events = service.list_events(
        session,
        action=action,
        target_type=target_type,
        target_id=target_id,
        actor_id=actor_id,
        before=before,
        limit=limit,
    )
    return AuditPage(
        events=[AuditEventRead.model_validate(e) for e in events],
        next_before=events[-1].id if len(events) == limit else None,
    )
