"""Crowd entry: participants who arrive from Prolific (or another platform) with their ids, and the
completion code they take back. No HTTP here; callers commit.

A participant becomes an ordinary human annotator with a pseudonymous address and a password hash
nothing verifies against, so the only way in is the entry URL. Their platform ids are kept here,
for paying and approving, and nowhere else: exports name them by the user's pseudonym.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.models import Role, User, UserKind
from app.campaigns.models import Campaign
from app.config import get_settings
from app.crowd.models import CrowdParticipant, CrowdPlatform, CrowdStudy
from app.crowd.schemas import CrowdParticipantRead, CrowdStudyConfig
from app.db import utcnow
from app.errors import DomainError, Forbidden, NotFound
from app.voting.models import Vote

CROWD_DOMAIN = "crowd.invalid"
MAX_ID_LENGTH = 64
MAX_SESSIONS_KEPT = 50
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
# Starts with "!", which no argon2 hash does: verify_password fails on it, whatever the password.
UNUSABLE_PASSWORD = "!crowd-participant"


class CrowdEntryRefused(DomainError):
    """The entry URL lacks an id or carries a malformed one."""

    status_code: ClassVar[int] = 400


@dataclass(frozen=True)
class CrowdState:
    """A crowd participant's standing in a campaign, as the task page needs it."""

    participant: CrowdParticipant
    study: CrowdStudy
    votes: int

    @property
    def quota_reached(self) -> bool:
        return self.study.required_votes is not None and self.votes >= self.study.required_votes


@dataclass(frozen=True)
class CrowdCompletion:
    code: str | None
    url: str | None
    completed_at: datetime | None
    votes: int
    required_votes: int | None


def get_study(session: Session, *, campaign: Campaign) -> CrowdStudy | None:
    return session.scalar(select(CrowdStudy).where(CrowdStudy.campaign_id == campaign.id))


def save_study(
    session: Session,
    *,
    actor: User,
    campaign: Campaign,
    config: CrowdStudyConfig,
    remote_addr: str | None = None,
) -> CrowdStudy:
    study = get_study(session, campaign=campaign)
    created = study is None
    if study is None:
        study = CrowdStudy(campaign_id=campaign.id)
        session.add(study)
    for field, value in config.model_dump().items():
        setattr(study, field, value)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="crowd.study_saved",
        target_type="campaign",
        target_id=campaign.id,
        details={"campaign": campaign.slug, "created": created} | config.model_dump(mode="json"),
        remote_addr=remote_addr,
    )
    return study


def entry_template(study: CrowdStudy, *, base_url: str, slug: str) -> str:
    """The entry link with Prolific's placeholders, for the researcher to paste into the study."""
    return (
        f"{base_url.rstrip('/')}/crowd/{quote(slug)}?{study.participant_param}={{{{%PROLIFIC_PID%}}}}"
        f"&{study.study_param}={{{{%STUDY_ID%}}}}&{study.session_param}={{{{%SESSION_ID%}}}}"
        if study.platform == CrowdPlatform.prolific
        else f"{base_url.rstrip('/')}/crowd/{quote(slug)}?{study.participant_param}=<participant>"
        f"&{study.study_param}=<study>&{study.session_param}=<session>"
    )


def check_id(value: str | None, *, name: str) -> str:
    value = (value or "").strip()
    if not value:
        raise CrowdEntryRefused(f"the link lacks {name}; open the study again from your platform")
    if len(value) > MAX_ID_LENGTH or not _SAFE_ID.match(value):
        raise CrowdEntryRefused(
            f"{name} is malformed (letters, digits, '-' and '_', at most {MAX_ID_LENGTH}); "
            "open the study again from your platform"
        )
    return value


def _crowd_email(platform: CrowdPlatform, participant_id: str) -> str:
    # Keyed, so the address says nothing about the participant id to someone without the secret.
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"{platform.value}:{participant_id}".encode(), hashlib.sha256).hexdigest()
    return f"{platform.value}-{digest[:32]}@{CROWD_DOMAIN}"


def _hash_address(address: str | None) -> str | None:
    if not address:
        return None
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"addr:{address}".encode(), hashlib.sha256).hexdigest()


def is_crowd_user(user: User) -> bool:
    return user.email.endswith("@" + CROWD_DOMAIN)


def enter(
    session: Session,
    *,
    campaign: Campaign,
    participant_id: str | None,
    study_id: str | None,
    session_id: str | None,
    remote_addr: str | None = None,
) -> CrowdParticipant:
    """Finds or creates the participant's annotator and records this entry's ids."""
    study = get_study(session, campaign=campaign)
    if study is None:
        raise NotFound(f"campaign '{campaign.slug}' takes no crowd participants")
    if not study.is_open:
        raise Forbidden("this study is closed to new entries; return it on your platform")
    pid = check_id(participant_id, name=study.participant_param)
    sid = check_id(study_id, name=study.study_param)
    ses = check_id(session_id, name=study.session_param)
    email = _crowd_email(study.platform, pid)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email,
            password_hash=UNUSABLE_PASSWORD + secrets.token_hex(8),
            role=Role.annotator,
            kind=UserKind.human,
        )
        session.add(user)
        session.flush()
    elif not user.is_active:
        raise Forbidden("this participant's access was withdrawn; return the study on your platform")
    now = utcnow()
    participant = session.scalar(
        select(CrowdParticipant)
        .where(CrowdParticipant.campaign_id == campaign.id, CrowdParticipant.user_id == user.id)
        .with_for_update()
    )
    if participant is None:
        participant = CrowdParticipant(
            campaign_id=campaign.id,
            user_id=user.id,
            participant_id=pid,
            study_id=sid,
            session_id=ses,
            session_ids=[ses],
            entries=1,
            entered_at=now,
            last_entered_at=now,
            remote_hash=_hash_address(remote_addr),
        )
        session.add(participant)
    else:
        participant.study_id = sid
        participant.session_id = ses
        if ses not in participant.session_ids:
            # A new list, so the JSON column is seen as changed.
            participant.session_ids = [*participant.session_ids, ses][-MAX_SESSIONS_KEPT:]
        participant.entries += 1
        participant.last_entered_at = now
        participant.remote_hash = _hash_address(remote_addr) or participant.remote_hash
    session.flush()
    return participant


def _votes(session: Session, *, campaign_id: int, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Vote)
            .where(Vote.campaign_id == campaign_id, Vote.annotator_id == user_id)
        )
        or 0
    )


def participant_state(session: Session, *, campaign: Campaign, user: User) -> CrowdState | None:
    """None for anyone who did not come in through this campaign's crowd entry."""
    if not is_crowd_user(user):
        return None
    row = session.execute(
        select(CrowdParticipant, CrowdStudy)
        .join(CrowdStudy, CrowdStudy.campaign_id == CrowdParticipant.campaign_id)
        .where(CrowdParticipant.campaign_id == campaign.id, CrowdParticipant.user_id == user.id)
    ).first()
    if row is None:
        return None
    participant, study = row
    return CrowdState(
        participant=participant, study=study, votes=_votes(session, campaign_id=campaign.id, user_id=user.id)
    )


def completion(session: Session, *, state: CrowdState | None, nothing_left: bool) -> CrowdCompletion | None:
    """The done view's completion code and link, recording the completion the first time.

    Done means: the study's required votes reached, or the campaign has nothing more for them after at
    least one vote (someone who arrives to an empty campaign did no work to be paid for).
    """
    if state is None:
        return None
    study, participant = state.study, state.participant
    finished = (
        state.quota_reached or (nothing_left and state.votes > 0) or participant.completed_at is not None
    )
    if finished and participant.completed_at is None:
        participant.completed_at = utcnow()
        session.flush()
    if not finished:
        return CrowdCompletion(None, None, None, state.votes, study.required_votes)
    url = study.completion_url.replace("{code}", quote(study.completion_code, safe=""))
    return CrowdCompletion(
        study.completion_code, url, participant.completed_at, state.votes, study.required_votes
    )


def list_participants(session: Session, *, campaign: Campaign) -> list[CrowdParticipantRead]:
    votes = (
        select(func.count())
        .select_from(Vote)
        .where(Vote.campaign_id == campaign.id, Vote.annotator_id == CrowdParticipant.user_id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(CrowdParticipant, User.pseudonym, votes)
        .join(User, User.id == CrowdParticipant.user_id)
        .where(CrowdParticipant.campaign_id == campaign.id)
        .order_by(CrowdParticipant.id)
    ).all()
    return [
        CrowdParticipantRead(
            participant_id=p.participant_id,
            study_id=p.study_id,
            session_id=p.session_id,
            session_ids=list(p.session_ids or []),
            entries=p.entries,
            pseudonym=pseudonym,
            votes=n,
            entered_at=p.entered_at,
            last_entered_at=p.last_entered_at,
            completed_at=p.completed_at,
        )
        for p, pseudonym, n in rows
    ]
