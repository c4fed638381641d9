"""An arena's leaderboard: votes aggregated in SQL, ratings computed by `ratings.py`, stored as
snapshots stamped with the vote count and time. Pages and endpoints read the latest snapshot; the
Celery task `preflab.arena.refresh_leaderboard` writes new ones."""

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Select, and_, delete, func, select
from sqlalchemy.orm import Session, aliased

from app.arena.models import (
    Arena,
    ArenaSystem,
    ArenaVoter,
    Battle,
    BattleAnswer,
    BattleTag,
    LeaderboardSnapshot,
    VoterStatus,
    Winner,
)
from app.arena.schemas import ArenaConfig
from app.arena.style import feature_value
from app.db import utcnow
from app.leaderboard.ratings import Leaderboard, PairCounts, online_elo
from app.leaderboard.style_control import standardised_differences, style_controlled
from app.leaderboard.tables import category_leaderboards, to_json, win_rate_matrix

REFRESH_TASK = "preflab.arena.refresh_leaderboard"
OVERALL = ""
OUTCOME = {Winner.model_a: 1.0, Winner.model_b: 0.0, Winner.tie: 0.5, Winner.both_bad: 0.5}


def counted_battles(campaign_id: int) -> Select[Any]:
    """Voted battles that count: no identity leak, and not by a voter an admin excluded."""
    excluded = select(ArenaVoter.voter_key).where(
        ArenaVoter.campaign_id == campaign_id, ArenaVoter.status == VoterStatus.excluded
    )
    return select(Battle).where(
        Battle.campaign_id == campaign_id,
        Battle.winner.is_not(None),
        Battle.identity_leak.is_(False),
        Battle.voter_key.not_in(excluded),
    )


def pair_counts(session: Session, *, campaign_id: int) -> dict[str, list[PairCounts]]:
    """Counts per (system a, system b, outcome), overall and per tag, in two GROUP BY queries."""
    counted = counted_battles(campaign_id).subquery()
    sys_a, sys_b = aliased(ArenaSystem), aliased(ArenaSystem)
    base = (
        select(sys_a.name, sys_b.name, counted.c.winner, func.count())
        .select_from(counted)
        .join(sys_a, sys_a.id == counted.c.system_a_id)
        .join(sys_b, sys_b.id == counted.c.system_b_id)
    )
    tallies: dict[str, dict[tuple[str, str], list[float]]] = {OVERALL: {}}
    for a, b, winner, n in session.execute(base.group_by(sys_a.name, sys_b.name, counted.c.winner)):
        _tally(tallies[OVERALL], a, b, winner, n)
    tagged = (
        base.add_columns(BattleTag.tag)
        .join(BattleTag, BattleTag.battle_id == counted.c.id)
        .group_by(BattleTag.tag, sys_a.name, sys_b.name, counted.c.winner)
    )
    for a, b, winner, n, tag in session.execute(tagged):
        _tally(tallies.setdefault(tag, {}), a, b, winner, n)
    return {
        category: [PairCounts(a, b, *cells) for (a, b), cells in sorted(cells_by_pair.items())]
        for category, cells_by_pair in tallies.items()
    }


def _tally(cells: dict[tuple[str, str], list[float]], a: str, b: str, winner: str, n: int) -> None:
    cell = cells.setdefault((a, b), [0.0, 0.0, 0.0])
    outcome = OUTCOME[Winner(winner)]
    cell[0 if outcome == 1.0 else 1 if outcome == 0.0 else 2] += n


def style_rows(
    session: Session, *, campaign_id: int, features: list[str]
) -> tuple[list[tuple[str, str, float, np.ndarray]], list[str]]:
    """Per counted battle: (a, b, outcome, standardised feature differences), summed over turns.

    Differences are normalised as `standardised_differences` says; features no answer has, or that
    never differ, are dropped."""
    counted = counted_battles(campaign_id).subquery()
    sys_a, sys_b = aliased(ArenaSystem), aliased(ArenaSystem)
    query = (
        select(counted.c.id, sys_a.name, sys_b.name, counted.c.winner, BattleAnswer.side, BattleAnswer.meta)
        .select_from(counted)
        .join(sys_a, sys_a.id == counted.c.system_a_id)
        .join(sys_b, sys_b.id == counted.c.system_b_id)
        .join(BattleAnswer, and_(BattleAnswer.battle_id == counted.c.id))
        .order_by(counted.c.id)
    )
    battles: dict[int, tuple[str, str, float]] = {}
    sums: dict[int, dict[str, np.ndarray]] = {}
    present = np.zeros(len(features), dtype=bool)
    for battle_id, a, b, winner, side, meta in session.execute(query):
        battles[battle_id] = (a, b, OUTCOME[Winner(winner)])
        per_side = sums.setdefault(battle_id, {"a": np.zeros(len(features)), "b": np.zeros(len(features))})
        for k, name in enumerate(features):
            value = feature_value(name, meta or {})
            if value is not None:
                per_side[side][k] += value
                present[k] = True
    if not battles:
        return [], []
    keep = [k for k in range(len(features)) if present[k]]
    names = [features[k] for k in keep]
    ids = list(battles)
    fa = np.array([sums[i]["a"][keep] for i in ids]).reshape(len(ids), len(keep))
    fb = np.array([sums[i]["b"][keep] for i in ids]).reshape(len(ids), len(keep))
    diff, names = standardised_differences(fa, fb, names)
    return [(*battles[i], diff[k]) for k, i in enumerate(ids)], names


def elo_history(session: Session, *, campaign_id: int) -> dict[str, float]:
    counted = counted_battles(campaign_id).subquery()
    sys_a, sys_b = aliased(ArenaSystem), aliased(ArenaSystem)
    rows = session.execute(
        select(sys_a.name, sys_b.name, counted.c.winner)
        .select_from(counted)
        .join(sys_a, sys_a.id == counted.c.system_a_id)
        .join(sys_b, sys_b.id == counted.c.system_b_id)
        .order_by(counted.c.voted_at, counted.c.id)
    )
    return online_elo([(a, b, OUTCOME[Winner(w)]) for a, b, w in rows])


def board_data(board: Leaderboard, *, counts: list[PairCounts], min_battles: int) -> dict[str, Any]:
    """A leaderboard as stored in a snapshot and served as JSON. Every system is fitted; those with
    fewer than `min_battles` counted battles are not listed, and ranks are among the listed ones. The
    win-rate matrix covers the listed systems, best first."""
    data = to_json(board, min_battles=min_battles)
    systems, matrix = win_rate_matrix(counts, [r["system"] for r in data["ratings"]])
    return data | {
        "scores": {r.system: round(r.score, 2) for r in board.ratings},
        "win_rates": {"systems": systems, "matrix": matrix},
    }


def compute_snapshots(session: Session, *, campaign_id: int, seed: int = 0) -> list[LeaderboardSnapshot]:
    """New snapshots (overall, each category, and the style-controlled overall one) from the votes now."""
    arena = session.scalar(select(Arena).where(Arena.campaign_id == campaign_id).with_for_update())
    assert arena is not None
    config = ArenaConfig.model_validate(arena.config)
    vote_count = arena.vote_count
    counts = pair_counts(session, campaign_id=campaign_id)
    counted = sum(c.wins_a + c.wins_b + c.ties for c in counts[OVERALL])
    now = utcnow()
    snapshots = []
    boards = category_leaderboards(counts, rounds=config.bootstrap_rounds, seed=seed)
    for category, category_counts in counts.items():
        data = board_data(boards[category], counts=category_counts, min_battles=config.min_battles)
        data["counted_votes"] = int(sum(c.wins_a + c.wins_b + c.ties for c in category_counts))
        if category == OVERALL:
            data["elo"] = {k: round(v, 2) for k, v in elo_history(session, campaign_id=campaign_id).items()}
        snapshots.append(_snapshot(campaign_id, category, vote_count, now, data))
    rows, names = style_rows(session, campaign_id=campaign_id, features=config.style_features)
    if rows and names:
        board = style_controlled(
            rows, feature_names=names, rounds=min(config.bootstrap_rounds, 100), seed=seed
        )
        data = board_data(board, counts=counts[OVERALL], min_battles=config.min_battles)
        data["counted_votes"] = int(counted)
        snapshots.append(_snapshot(campaign_id, "style", vote_count, now, data))
    session.add_all(snapshots)
    arena.snapshot_vote_count = vote_count
    session.flush()
    # Older snapshots are history nobody reads; keep a few per category for comparison.
    _prune(session, campaign_id=campaign_id, keep=5)
    return snapshots


def _snapshot(
    campaign_id: int, category: str, vote_count: int, now: datetime, data: dict[str, Any]
) -> LeaderboardSnapshot:
    return LeaderboardSnapshot(
        campaign_id=campaign_id, category=category, vote_count=vote_count, computed_at=now, data=data
    )


def _prune(session: Session, *, campaign_id: int, keep: int) -> None:
    model = LeaderboardSnapshot
    rows = session.execute(
        select(model.id, model.category)
        .where(model.campaign_id == campaign_id)
        .order_by(model.computed_at.desc(), model.id.desc())
    ).all()
    seen: dict[str, int] = {}
    stale = []
    for row_id, category in rows:
        seen[category] = seen.get(category, 0) + 1
        if seen[category] > keep:
            stale.append(row_id)
    if stale:
        session.execute(delete(model).where(model.id.in_(stale)))


def latest_snapshot(
    session: Session, *, campaign_id: int, category: str = OVERALL
) -> LeaderboardSnapshot | None:
    return session.scalar(
        select(LeaderboardSnapshot)
        .where(LeaderboardSnapshot.campaign_id == campaign_id, LeaderboardSnapshot.category == category)
        .order_by(LeaderboardSnapshot.computed_at.desc(), LeaderboardSnapshot.id.desc())
        .limit(1)
    )


def categories(session: Session, *, campaign_id: int) -> list[str]:
    return list(
        session.scalars(
            select(LeaderboardSnapshot.category)
            .where(LeaderboardSnapshot.campaign_id == campaign_id)
            .distinct()
            .order_by(LeaderboardSnapshot.category)
        )
    )


def snapshot_json(snapshot: LeaderboardSnapshot) -> dict[str, Any]:
    """A snapshot as the JSON endpoint serves it: the board, stamped with what it counted and when."""
    return {
        "category": snapshot.category or "overall",
        "vote_count": snapshot.vote_count,
        "computed_at": snapshot.computed_at.isoformat(),
        **snapshot.data,
    }
