"""Invite links: create, list, revoke, and sign up with one. No HTTP here; callers commit.

Who may invite: an admin, for any role; a researcher, for the annotator role only (a researcher
recruits annotators for a campaign but cannot hand out powers they lack, nor the admin's).
"""

import secrets
from datetime import datetime, timedelta
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.models import Role, User
from app.auth.security import hash_token
from app.campaigns import service as campaigns_service
from app.campaigns.models import Campaign
from app.db import utcnow
from app.errors import DomainError, Forbidden, Invalid, NotFound
from app.invites.models import Invite
from app.invites.schemas import InviteCreate, InviteRead

TOKEN_PREFIX = "inv_"


class InviteUnusable(DomainError):
    """The link exists but can no longer be used: expired, revoked or used up."""

    status_code: ClassVar[int] = 410


def new_invite_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def invite_state(invite: Invite, *, now: datetime | None = None) -> str:
    now = now or utcnow()
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= now:
        return "expired"
    if invite.uses >= invite.max_uses:
        return "used up"
    return "usable"


def _check_may_invite(actor: User, role: Role) -> None:
    if actor.role == Role.admin:
        return
    if actor.role == Role.researcher and role == Role.annotator:
        return
    raise Forbidden(
        f"a {actor.role.value} can only invite annotators; ask an admin for a {role.value} invite"
    )


def create_invite(
    session: Session, *, actor: User, data: InviteCreate, remote_addr: str | None = None
) -> tuple[Invite, str]:
    """Returns the invite and its token in clear; only the token's hash is stored."""
    _check_may_invite(actor, data.role)
    campaign = campaigns_service.get_campaign(session, slug=data.campaign) if data.campaign else None
    token = new_invite_token()
    invite = Invite(
        token_hash=hash_token(token),
        prefix=token[:10],
        role=data.role,
        email=auth_service.normalise_email(str(data.email)) if data.email else None,
        campaign_id=campaign.id if campaign else None,
        note=data.note.strip(),
        expires_at=utcnow() + timedelta(days=data.expires_in_days),
        max_uses=data.max_uses,
        uses=0,
        created_by_id=actor.id,
    )
    session.add(invite)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="invite.created",
        target_type="invite",
        target_id=invite.id,
        details={
            "prefix": invite.prefix,
            "role": invite.role.value,
            "email": invite.email,
            "campaign": campaign.slug if campaign else None,
            "max_uses": invite.max_uses,
            "expires_at": invite.expires_at.isoformat(),
        },
        remote_addr=remote_addr,
    )
    return invite, token


def list_invites(session: Session, *, actor: User) -> list[InviteRead]:
    """Every invite for an admin; a researcher sees the ones they made."""
    query = (
        select(Invite, Campaign.slug, User.email)
        .outerjoin(Campaign, Campaign.id == Invite.campaign_id)
        .outerjoin(User, User.id == Invite.created_by_id)
        .order_by(Invite.id.desc())
    )
    if actor.role != Role.admin:
        query = query.where(Invite.created_by_id == actor.id)
    now = utcnow()
    return [
        invite_read(invite, campaign_slug=slug, created_by=email, now=now)
        for invite, slug, email in session.execute(query).all()
    ]


def invite_read(
    invite: Invite, *, campaign_slug: str | None, created_by: str | None, now: datetime | None = None
) -> InviteRead:
    return InviteRead(
        id=invite.id,
        prefix=invite.prefix,
        role=invite.role,
        email=invite.email,
        campaign=campaign_slug,
        note=invite.note,
        expires_at=invite.expires_at,
        max_uses=invite.max_uses,
        uses=invite.uses,
        revoked_at=invite.revoked_at,
        created_at=invite.created_at,
        created_by=created_by,
        state=invite_state(invite, now=now),
    )


def revoke_invite(session: Session, *, actor: User, invite_id: int, remote_addr: str | None = None) -> Invite:
    invite = session.get(Invite, invite_id)
    # A researcher is not told about invites that are not theirs.
    if invite is None or (actor.role != Role.admin and invite.created_by_id != actor.id):
        raise NotFound(f"no invite with id {invite_id}")
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="invite.revoked",
            target_type="invite",
            target_id=invite.id,
            details={"prefix": invite.prefix, "role": invite.role.value, "uses": invite.uses},
            remote_addr=remote_addr,
        )
    return invite


def usable_invite(session: Session, *, token: str, lock: bool = False) -> Invite:
    """The invite a link names, if it can still be used; a clear error otherwise."""
    query = select(Invite).where(Invite.token_hash == hash_token(token))
    invite = session.scalar(query.with_for_update() if lock else query)
    if invite is None:
        raise NotFound("this invite link is not valid; check that it was copied whole, or ask for a new one")
    state = invite_state(invite)
    if state != "usable":
        raise InviteUnusable(f"this invite link is {state}; ask whoever sent it for a new one")
    return invite


def invite_campaign(session: Session, *, invite: Invite) -> Campaign | None:
    return session.get(Campaign, invite.campaign_id) if invite.campaign_id is not None else None


def accept_invite(
    session: Session, *, token: str, email: str | None, password: str, remote_addr: str | None = None
) -> tuple[User, Invite]:
    """Creates the account with the invited role and counts the use; the link's email wins if bound."""
    # Locked, so two sign-ups racing for the last use of a link cannot both pass.
    invite = usable_invite(session, token=token, lock=True)
    address = invite.email or (email or "").strip()
    if not address:
        raise Invalid("give your email address", field="email")
    if invite.email and email and auth_service.normalise_email(email) != invite.email:
        raise Invalid(f"this invite is for {invite.email} only", field="email")
    user = auth_service.create_user(session, email=address, password=password, role=invite.role)
    invite.uses += 1
    session.flush()
    audit.record(
        session,
        actor=user,
        action="invite.accepted",
        target_type="invite",
        target_id=invite.id,
        details={"prefix": invite.prefix, "user_id": user.id, "email": user.email, "role": user.role.value},
        remote_addr=remote_addr,
    )
    return user, invite
