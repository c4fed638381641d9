from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import service
from app.auth.models import ApiToken, Role
from app.errors import Conflict, Invalid
from tests.factories import PASSWORD, make_token, make_user


def test_passwords_are_stored_as_argon2_hashes(session: Session) -> None:
    user = make_user(session, "Ann@Example.org")
    assert user.email == "ann@example.org"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert service.authenticate(session, email="ANN@example.org", password=PASSWORD) == user
    assert service.authenticate(session, email="ann@example.org", password="wrong password!!") is None


def test_duplicate_email_and_short_password_are_refused(session: Session) -> None:
    make_user(session, "a@example.org")
    try:
        make_user(session, "A@example.org")
        raise AssertionError("duplicate accepted")
    except Conflict as exc:
        assert "already exists" in exc.message
    try:
        service.create_user(session, email="b@example.org", password="short", role=Role.annotator)
        raise AssertionError("short password accepted")
    except Invalid as exc:
        assert exc.field == "password"


def test_tokens_are_stored_hashed_and_can_be_revoked(session: Session) -> None:
    user = make_user(session, "t@example.org", Role.researcher)
    token = make_token(session, user)
    stored = session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64
    assert service.user_for_token(session, token=token) == user
    assert service.user_for_token(session, token=token + "x") is None
    service.revoke_token(session, user=user, prefix=token[:10])
    assert service.user_for_token(session, token=token) is None


def test_inactive_users_cannot_use_tokens_or_log_in(session: Session) -> None:
    user = make_user(session, "gone@example.org")
    token = make_token(session, user)
    user.is_active = False
    session.flush()
    assert service.user_for_token(session, token=token) is None
    assert service.authenticate(session, email="gone@example.org", password=PASSWORD) is None
