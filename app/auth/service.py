"""Users, password checks and API tokens. No HTTP here; callers commit."""

import secrets

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.auth.models import ApiToken, Role, User, UserKind
from app.auth.security import hash_password, hash_token, new_token, verify_password
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound

MIN_PASSWORD_LENGTH = 12


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session, *, email: str, password: str | None, role: Role, kind: UserKind = UserKind.human
) -> User:
    """A person (who signs in with the password) or a model annotator (an LM judge, which only ever
    votes through an API token: it gets a random password nobody knows, and never signs in)."""
    email = normalise_email(email)
    if "@" not in email:
        raise Invalid(f"'{email}' is not an email address", field="email")
    if kind == UserKind.model:
        if role != Role.annotator:
            raise Invalid("a model annotator can only have the annotator role", field="role")
        password = secrets.token_urlsafe(32)
    elif password is None or len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(email=email, password_hash=hash_password(password), role=role, kind=kind)
    session.add(user)
    session.flush()
    return user


def get_user_by_email(session: Session, *, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"no user with email {normalise_email(email)}")
    return user


# Verified against when the email is unknown, so a login takes as long whether or not the account exists.
_DUMMY_HASH = hash_password("no account has this password")


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if user.kind == UserKind.model:
        return None
    return user


def set_password(session: Session, *, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
    user.password_hash = hash_password(password)
    session.flush()


def create_token(session: Session, *, user: User, name: str = "") -> str:
    """Returns the token in clear; only its hash is stored."""
    token = new_token()
    session.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), prefix=token[:10]))
    session.flush()
    return token


# Built once: every API request runs it, and building a statement costs more than running it here.
_USER_FOR_TOKEN = (
    select(User, ApiToken.id)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def user_for_token(session: Session, *, token: str) -> User | None:
    row = session.execute(_USER_FOR_TOKEN, {"token_hash": hash_token(token)}).first()
    if row is None or not row[0].is_active:
        return None
    return row[0]


def revoke_token(session: Session, *, user: User, prefix: str) -> None:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.prefix == prefix, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount == 0:
        raise NotFound(f"no active token starting {prefix} for {user.email}")
