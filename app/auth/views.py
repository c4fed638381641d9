"""HTML pages for logging in and out (session cookie)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.auth import service
from app.deps import SESSION_USER_KEY, OptionalUser, SessionDep, check_csrf
from app.web import redirect, render, safe_next

router = APIRouter(include_in_schema=False)

# Logging in has no user yet, so the session-user dependency does not check CSRF; this does.
CsrfChecked = Depends(check_csrf)


@router.get("/")
def home(request: Request, user: OptionalUser) -> Response:
    return redirect(request, "/campaigns" if user else "/login")


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user is not None:
        return redirect(request, safe_next(next))
    return render(request, "auth/login.html", {"next": safe_next(next), "email": "", "error": None})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    user = service.authenticate(session, email=email, password=password)
    if user is None:
        context = {"next": safe_next(next), "email": email, "error": "Wrong email or password."}
        return render(request, "auth/login.html", context, status=401)
    # A new session on every login: nothing from before (CSRF token included) carries over.
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    return redirect(request, safe_next(next))


@router.post("/logout")
async def logout(request: Request) -> Response:
    # Logging out of a session that already ended (a stale tab) just shows the login page.
    if request.session.get(SESSION_USER_KEY) is not None:
        await check_csrf(request)
    request.session.clear()
    return redirect(request, "/login")
