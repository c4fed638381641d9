"""Admin pages: accounts (role, deactivation), invite links and the audit log.

They call the same services as the JSON API (`/api/v1/users`, `/api/v1/invites`, `/api/v1/audit`).
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.auth import management
from app.auth.models import Role, User
from app.campaigns import service as campaigns_service
from app.deps import Admin, SessionDep
from app.errors import DomainError, Invalid
from app.invites import service as invites_service
from app.invites.router import client_address, invite_link
from app.invites.schemas import InviteCreate
from app.web import FormFields, form_errors, redirect, render

router = APIRouter(include_in_schema=False)

AUDIT_PAGE = 100


def _users_page(
    request: Request,
    session: Session,
    *,
    user: User,
    problem: str | None = None,
    created_link: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "user": user,
        "users": management.list_users(session),
        "roles": list(Role),
        "invites": invites_service.list_invites(session, actor=user),
        "campaigns": campaigns_service.list_campaigns(session),
        "recent": audit_service.list_events(session, limit=10),
        "problem": problem,
        "created_link": created_link,
        "form": form or {},
    }
    return render(request, "admin/users.html", context, status=status)


@router.get("/admin/users")
def users_page(request: Request, session: SessionDep, user: Admin) -> Response:
    return _users_page(request, session, user=user)


def _changed(request: Request, session: Session, *, user: User, change: Any) -> Response:
    """Runs a change in a savepoint; a refused one shows the page with the reason, nothing half-done."""
    try:
        with session.begin_nested():
            change()
    except DomainError as exc:
        return _users_page(request, session, user=user, problem=exc.message, status=exc.status_code)
    return redirect(request, "/admin/users")


@router.post("/admin/users/{user_id}/role")
def change_role(
    request: Request, user_id: int, session: SessionDep, user: Admin, fields: FormFields
) -> Response:
    def change() -> None:
        target = management.get_user(session, user_id=user_id)
        try:
            role = Role(fields.get("role", ""))
        except ValueError:
            raise Invalid(f"unknown role '{fields.get('role', '')}'") from None
        management.change_role(
            session, actor=user, user=target, role=role, remote_addr=client_address(request)
        )

    return _changed(request, session, user=user, change=change)


@router.post("/admin/users/{user_id}/active")
def set_active(
    request: Request, user_id: int, session: SessionDep, user: Admin, fields: FormFields
) -> Response:
    def change() -> None:
        target = management.get_user(session, user_id=user_id)
        active = fields.get("active") == "true"
        management.set_active(
            session, actor=user, user=target, active=active, remote_addr=client_address(request)
        )

    return _changed(request, session, user=user, change=change)


@router.post("/admin/invites")
def create_invite(request: Request, session: SessionDep, user: Admin, fields: FormFields) -> Response:
    data = {
        "role": fields.get("role") or "annotator",
        "email": fields.get("email", "").strip() or None,
        "campaign": fields.get("campaign", "").strip() or None,
        "expires_in_days": fields.get("expires_in_days") or 7,
        "max_uses": fields.get("max_uses") or 1,
        "note": fields.get("note", ""),
    }
    try:
        invite_data = InviteCreate.model_validate(data)
        with session.begin_nested():
            _, token = invites_service.create_invite(
                session, actor=user, data=invite_data, remote_addr=client_address(request)
            )
    except ValidationError as exc:
        return _users_page(
            request, session, user=user, problem=form_errors(exc).message, form=fields, status=422
        )
    except DomainError as exc:
        return _users_page(
            request, session, user=user, problem=exc.message, form=fields, status=exc.status_code
        )
    # Shown on this one answer only: the token is not stored, so a reload cannot show it again.
    return _users_page(request, session, user=user, created_link=invite_link(request, token), status=201)


@router.post("/admin/invites/{invite_id}/revoke")
def revoke_invite(request: Request, invite_id: int, session: SessionDep, user: Admin) -> Response:
    def change() -> None:
        invites_service.revoke_invite(
            session, actor=user, invite_id=invite_id, remote_addr=client_address(request)
        )

    return _changed(request, session, user=user, change=change)


@router.get("/admin/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    user: Admin,
    action: str = "",
    target_type: str = "",
    before: int | None = None,
) -> Response:
    events = audit_service.list_events(
        session,
        action=action[:64] or None,
        target_type=target_type[:40] or None,
        before=before,
        limit=AUDIT_PAGE,
    )
    context = {
        "user": user,
        "events": events,
        "action": action,
        "target_type": target_type,
        "next_before": events[-1].id if len(events) == AUDIT_PAGE else None,
    }
    return render(request, "admin/audit.html", context)
