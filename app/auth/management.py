"""What an admin does to accounts: list them, change a role, deactivate and reactivate. Callers commit.

Every change is written to the audit log in the same transaction.
"""

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.models import Role, User, UserKind
from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound
from app.voting.models import Assignment, AssignmentStatus
from app.voting.service import reclaim_expired_leases


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def _active_admins(session: Session) -> int:
    # Locked, so two admins demoting each other at the same moment cannot both pass the check.
    query = select(User.id).where(User.role == Role.admin, User.is_active.is_(True)).with_for_update()
    return len(session.scalars(query).all())


def _guard_last_admin(session: Session, *, user: User) -> None:
    # Locked out of the admin page with no one left to let anyone back in: refuse instead.
    if user.role == Role.admin and user.is_active and _active_admins(session) <= 1:
        raise Conflict(f"{user.email} is the last active admin; make another admin first")


def change_role(
    session: Session, *, actor: User, user: User, role: Role, remote_addr: str | None = None
) -> User:
    if user.role == role:
        return user
    if user.id == actor.id:
        raise Forbidden("you cannot change your own role; ask another admin")
    if user.kind == UserKind.model and role != Role.annotator:
        raise Conflict("a model annotator can only have the annotator role")
    if role != Role.admin:
        _guard_last_admin(session, user=user)
    before = user.role
    user.role = role
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.role_changed",
        target_type="user",
        target_id=user.id,
        details={"email": user.email, "from": before.value, "to": role.value},
        remote_addr=remote_addr,
    )
    return user


def set_active(
    session: Session, *, actor: User, user: User, active: bool, remote_addr: str | None = None
) -> User:
    if user.is_active == active:
        return user
    if user.id == actor.id:
        raise Forbidden("you cannot deactivate yourself; ask another admin")
    freed = 0
    if not active:
        _guard_last_admin(session, user=user)
        user.is_active = False
        session.flush()
        freed = release_leases(session, user=user)
    else:
        user.is_active = True
        session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.reactivated" if active else "user.deactivated",
        target_type="user",
        target_id=user.id,
        details={"email": user.email} | ({} if active else {"leases_freed": freed}),
        remote_addr=remote_addr,
    )
    return user


def release_leases(session: Session, *, user: User) -> int:
    """Ends the user's live leases now, so their comparisons go back to the pool for others.

    The leases are made to expire at this instant and then swept by the voting service's own reclaim,
    which knows how slots return (and that a pair routed to the LM judge stays out of the queue).
    """
    now = utcnow()
    campaign_ids = session.scalars(
        update(Assignment)
        .where(
            Assignment.annotator_id == user.id,
            Assignment.status == AssignmentStatus.leased,
            Assignment.lease_expires_at > now,
        )
        .values(lease_expires_at=now)
        .returning(Assignment.campaign_id)
    ).all()
    for campaign_id in sorted(set(campaign_ids)):
        reclaim_expired_leases(session, campaign_id=campaign_id, now=now)
    return len(campaign_ids)
