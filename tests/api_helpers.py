"""Small helpers for API tests: users with tokens, authorised headers."""

from sqlalchemy.orm import Session

from app.auth.models import Role
from tests.factories import make_token, make_user


def bearer(session: Session, email: str, role: Role = Role.annotator) -> dict[str, str]:
    user = make_user(session, email, role)
    token = make_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}
