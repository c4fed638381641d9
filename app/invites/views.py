"""The sign-up page an invite link opens."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth.service import MIN_PASSWORD_LENGTH
from app.deps import SESSION_USER_KEY, OptionalUser, SessionDep, check_csrf
from app.errors import Conflict, Invalid
from app.invites import service
from app.invites.models import Invite
from app.invites.router import client_address
from app.web import redirect, render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: Session,
    *,
    invite: Invite,
    token: str,
    user: object,
    email: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "user": user,
        "invite": invite,
        "campaign": service.invite_campaign(session, invite=invite),
        "action": f"/invite/{quote(token, safe='')}",
        "email": email,
        "error": error,
        "min_password": MIN_PASSWORD_LENGTH,
    }
    return render(request, "invites/accept.html", context, status=status)


@router.get("/invite/{token}")
def invite_page(request: Request, token: str, session: SessionDep, user: OptionalUser) -> Response:
    invite = service.usable_invite(session, token=token)
    return _page(request, session, invite=invite, token=token, user=user)


# Signing up has no user yet, so the session-user dependency does not check CSRF; this does.
@router.post("/invite/{token}", dependencies=[Depends(check_csrf)])
def accept(
    request: Request,
    token: str,
    session: SessionDep,
    user: OptionalUser,
    password: Annotated[str, Form(max_length=1000)],
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    try:
        with session.begin_nested():
            new_user, invite = service.accept_invite(
                session, token=token, email=email, password=password, remote_addr=client_address(request)
            )
    except (Invalid, Conflict) as exc:
        invite = service.usable_invite(session, token=token)
        status = 409 if isinstance(exc, Conflict) else 422
        return _page(
            request,
            session,
            invite=invite,
            token=token,
            user=user,
            email=email,
            error=exc.message,
            status=status,
        )
    campaign = service.invite_campaign(session, invite=invite)
    # A new session, as on login: nothing from before (CSRF token included) carries over.
    request.session.clear()
    request.session[SESSION_USER_KEY] = new_user.id
    return redirect(request, f"/campaigns/{quote(campaign.slug)}/task" if campaign else "/campaigns")
