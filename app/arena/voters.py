"""Voters under watch: the anomalous-voter check (run after each leaderboard refresh) flags voters whose
votes are improbable under the current ratings; an admin then excludes them (their votes leave the
leaderboard) or clears them (the check no longer flags them)."""

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.arena.models import ArenaSystem, ArenaVoter, Battle, VoterStatus
from app.db import utcnow
from app.errors import Invalid, NotFound

ACTIONS = {"exclude": VoterStatus.excluded, "clear": VoterStatus.cleared, "flag": VoterStatus.flagged}


def list_voters(
    session: Session, *, campaign_id: int, statuses: list[VoterStatus] | None = None
) -> list[ArenaVoter]:
    query = select(ArenaVoter).where(ArenaVoter.campaign_id == campaign_id)
    if statuses:
        query = query.where(ArenaVoter.status.in_(statuses))
    return list(session.scalars(query.order_by(ArenaVoter.status, ArenaVoter.statistic.desc())))


def set_voter_status(session: Session, *, campaign_id: int, voter_key: str, action: str) -> ArenaVoter:
    if action not in ACTIONS:
        raise Invalid(f"unknown action '{action}'; use one of {', '.join(ACTIONS)}")
    voter = session.scalar(
        select(ArenaVoter).where(ArenaVoter.campaign_id == campaign_id, ArenaVoter.voter_key == voter_key)
    )
    if voter is None:
        voted = session.scalar(
            select(Battle.id).where(Battle.campaign_id == campaign_id, Battle.voter_key == voter_key).limit(1)
        )
        if voted is None:
            raise NotFound(f"no voter '{voter_key}' in this arena")
        voter = ArenaVoter(campaign_id=campaign_id, voter_key=voter_key)
        session.add(voter)
    voter.status = ACTIONS[action]
    voter.updated_at = utcnow()
    session.flush()
    return voter


def check_voters(session: Session, *, campaign_id: int, ratings: dict[str, float]) -> int:
    """Runs the sequential test for every voter against `ratings`; returns how many are flagged now.
    Decisions an admin made (excluded, cleared) are kept; only the statistic is updated."""
    from app.arena.anomaly import check_voters as sequential_test
    from app.config import get_settings

    settings = get_settings()

    sys_a, sys_b = aliased(ArenaSystem), aliased(ArenaSystem)
    rows = session.execute(
        select(Battle.voter_key, sys_a.name, sys_b.name, Battle.winner)
        .join(sys_a, sys_a.id == Battle.system_a_id)
        .join(sys_b, sys_b.id == Battle.system_b_id)
        .where(Battle.campaign_id == campaign_id, Battle.winner.is_not(None), Battle.identity_leak.is_(False))
        .order_by(Battle.voted_at, Battle.id)
    ).all()
    if not rows or not ratings:
        return 0
    votes = [(key, a, b, winner.value) for key, a, b, winner in rows]
    results = sequential_test(
        ratings,
        [v[0] for v in votes],
        [v[1] for v in votes],
        [v[2] for v in votes],
        [v[3] for v in votes],
        alpha=settings.arena_anomaly_alpha,
        beta=settings.arena_anomaly_beta,
        min_votes=settings.arena_anomaly_min_votes,
    )
    known = {
        v.voter_key: v
        for v in session.scalars(select(ArenaVoter).where(ArenaVoter.campaign_id == campaign_id))
    }
    flagged = 0
    for key, result in results.items():
        voter = known.get(key)
        if voter is None:
            if result.decision != "flag":
                continue  # only voters worth a look get a row
            voter = ArenaVoter(campaign_id=campaign_id, voter_key=key)
            session.add(voter)
        voter.statistic = float(result.statistic)
        voter.votes = int(result.votes)
        voter.updated_at = utcnow()
        if result.decision == "flag" and voter.status in (None, VoterStatus.ok):
            voter.status = VoterStatus.flagged
        flagged += voter.status == VoterStatus.flagged
    session.flush()
    return flagged
