"""Request-scoped dependencies: one database transaction per request, and the current user.

The session dependency runs with scope="function", so the commit happens when the route returns and
before any byte of the response is sent: an acknowledged vote is a stored vote.
"""

import secrets
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.auth.models import Role, User
from app.db import get_sessionmaker
from app.errors import Forbidden, NotAuthenticated

SESSION_USER_KEY = "user_id"
SESSION_CSRF_KEY = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_db() -> Iterator[Session]:
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="an API token from `preflab token create`")


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; forms and htmx requests send it back."""
    token = request.session.get(SESSION_CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF_KEY] = token
    return token


async def check_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(SESSION_CSRF_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FORM_FIELD)
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(expected, sent):
        raise Forbidden("missing or wrong CSRF token; reload the page and try again")


Identity = tuple[str, str | int] | None


async def request_identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    """Who the request says it is, without touching the database: ("token", t), ("session", id), None."""
    if credentials is not None:
        return ("token", credentials.credentials)
    user_id = request.session.get(SESSION_USER_KEY) if "session" in request.scope else None
    if user_id is not None:
        await check_csrf(request)
        return ("session", int(user_id))
    return None


IdentityDep = Annotated[Identity, Depends(request_identity)]


def resolve_user(session: Session, identity: Identity) -> User | None:
    if identity is None:
        return None
    kind, value = identity
    if kind == "token":
        user = auth_service.user_for_token(session, token=str(value))
        if user is None:
            raise NotAuthenticated("the API token is unknown or revoked")
        return user
    user = session.get(User, int(value))
    if user is None or not user.is_active:
        return None
    return user


def ensure_role(user: User | None, role: Role) -> User:
    if user is None:
        raise NotAuthenticated("log in or send an API token as 'Authorization: Bearer <token>'")
    if not user.role.at_least(role):
        raise Forbidden(f"this needs the {role.value} role; you are {user.role.value}")
    return user


def get_optional_user(session: SessionDep, identity: IdentityDep) -> User | None:
    return resolve_user(session, identity)


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    return ensure_role(user, Role.annotator)


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def require_role(role: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    async def _check(user: CurrentUser) -> User:
        return ensure_role(user, role)

    return _check


Annotator = Annotated[User, Depends(require_role(Role.annotator))]
Researcher = Annotated[User, Depends(require_role(Role.researcher))]
Admin = Annotated[User, Depends(require_role(Role.admin))]
