"""Arena tasks: one side of a battle from a local model, and leaderboard snapshots."""

from datetime import timedelta

from sqlalchemy import select

from app.arena import answers
from app.arena.models import Arena, LeaderboardSnapshot
from app.arena.schemas import ArenaConfig
from app.arena.voters import check_voters
from app.db import session_scope, utcnow
from app.leaderboard import service as leaderboard
from workers.celery_app import celery_app


@celery_app.task(name=answers.ANSWER_TASK)
def answer(answer_id: int) -> None:
    """Generates one battle answer; a redelivered task finds the row claimed and does nothing."""
    answers.generate_answer(answer_id)


@celery_app.task(name=leaderboard.REFRESH_TASK)
def refresh_leaderboard(campaign_id: int) -> int:
    """New snapshots for one arena, and the anomalous-voter check against them; returns the vote count."""
    with session_scope() as session:
        snapshots = leaderboard.compute_snapshots(session, campaign_id=campaign_id)
        overall = next(s for s in snapshots if s.category == leaderboard.OVERALL)
        ratings = dict(overall.data["scores"])
        vote_count = overall.vote_count
    with session_scope() as session:
        check_voters(session, campaign_id=campaign_id, ratings=ratings)
    return vote_count


@celery_app.task(name="preflab.arena.refresh_due_leaderboards")
def refresh_due_leaderboards() -> list[int]:
    """Beat: arenas with votes newer than their snapshot, once `refresh_seconds` have passed."""
    due = []
    with session_scope() as session:
        for arena in session.scalars(select(Arena).where(Arena.vote_count > Arena.snapshot_vote_count)):
            config = ArenaConfig.model_validate(arena.config)
            last = session.scalar(
                select(LeaderboardSnapshot.computed_at)
                .where(LeaderboardSnapshot.campaign_id == arena.campaign_id)
                .order_by(LeaderboardSnapshot.computed_at.desc())
                .limit(1)
            )
            if last is None or last < utcnow() - timedelta(seconds=config.refresh_seconds):
                due.append(arena.campaign_id)
    for campaign_id in due:
        refresh_leaderboard.delay(campaign_id)
    return due
