"""Arena work that crosses services: rate limits and moderation before a battle or vote, the commit,
then what must happen after it (starting generation, a leaderboard refresh)."""

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.arena import answers, service
from app.arena.models import Arena, Battle, BattleAnswer
from app.arena.schemas import ArenaConfig
from app.auth.models import User
from app.campaigns.models import Campaign
from app.errors import Invalid

log = logging.getLogger("preflab.arena")


@dataclass(frozen=True)
class Voter:
    """Who is battling: a signed-in user ("user:<id>") or an anonymous visitor ("anon:<id>")."""

    key: str
    user: User | None
    ip: str | None
    # A new anonymous voter's signed cookie (name, value), still to be sent with the response.
    cookie: tuple[str, str] | None = None


def _rate_limit(action: str, *, voter: Voter, campaign: Campaign, config: ArenaConfig) -> None:
    from app.arena.limits import get_limiter

    per_minute = config.battles_per_minute if action == "battle" else config.votes_per_minute
    get_limiter().check(
        action, user_key=voter.key, ip=voter.ip, campaign=campaign.slug, per_minute=per_minute
    )


def _moderate(text: str, *, config: ArenaConfig) -> list[str]:
    """Flags for the battle; raises Invalid when the campaign's policy blocks the prompt."""
    from app.arena.moderation import get_moderator

    result = get_moderator().check(text, overrides=config.moderation)
    if result.action == "block":
        raise Invalid(
            "this prompt was blocked by the arena's content policy ("
            + ", ".join(result.categories)
            + "); please rephrase it",
            field="prompt",
        )
    if result.action == "warn":
        return [f"moderation:{c}" for c in result.categories]
    if result.categories:
        log.info("moderation logged categories %s", result.categories)
        return [f"moderation-log:{c}" for c in result.categories]
    return []


def start_battle(
    session: Session, *, campaign: Campaign, arena: Arena, voter: Voter, prompt: str | None
) -> Battle:
    config = service.arena_config(arena)
    _rate_limit("battle", voter=voter, campaign=campaign, config=config)
    flags = _moderate(prompt, config=config) if prompt else []
    battle = service.start_battle(
        session,
        campaign=campaign,
        arena=arena,
        voter_key=voter.key,
        user=voter.user,
        prompt=prompt,
        flags=flags,
    )
    _commit_and_launch(session, battle=battle)
    return battle


def add_turn(
    session: Session, *, campaign: Campaign, arena: Arena, battle: Battle, voter: Voter, prompt: str
) -> Battle:
    config = service.arena_config(arena)
    _rate_limit("battle", voter=voter, campaign=campaign, config=config)
    flags = _moderate(prompt, config=config)
    service.add_turn(session, battle=battle, arena=arena, prompt=prompt, flags=flags)
    _commit_and_launch(session, battle=battle)
    return battle


def _commit_and_launch(session: Session, *, battle: Battle) -> None:
    session.flush()
    pending = [a for a in battle.answers if a.turn == battle.turns] or list(
        session.query(BattleAnswer).filter(
            BattleAnswer.battle_id == battle.id, BattleAnswer.turn == battle.turns
        )
    )
    providers = [(battle.system_a if a.side == "a" else battle.system_b).provider for a in pending]
    ids = [a.id for a in pending]
    # The rows must be visible to whoever generates them, so the commit comes first.
    session.commit()
    answers.launch(ids, providers)


def vote(
    session: Session,
    *,
    campaign: Campaign,
    arena: Arena,
    battle: Battle,
    voter: Voter,
    winner: str,
    key: str | None,
) -> tuple[Battle, bool]:
    config = service.arena_config(arena)
    _rate_limit("vote", voter=voter, campaign=campaign, config=config)
    battle, created = service.cast_battle_vote(session, battle=battle, winner=winner, key=key)
    due = created and service.refresh_due(session, campaign=campaign)
    session.commit()
    if due:
        request_refresh(campaign_id=campaign.id)
    return battle, created


def request_refresh(*, campaign_id: int) -> None:
    from app.jobs.dispatch import send_task
    from app.leaderboard.service import REFRESH_TASK

    try:
        send_task(REFRESH_TASK, args=[campaign_id], queue="cpu")
    except Exception as exc:  # the vote is stored; beat recomputes the board later
        log.warning("could not queue a leaderboard refresh for campaign %s: %s", campaign_id, exc)
