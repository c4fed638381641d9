"""Selection in the running app: which system pair the next comparison an annotator gets should be.

The assignment service asks `choose_pair_key` before it claims a comparison of the chosen pair. The
posterior over the campaign's systems (app/selection/ranking.BTPosterior) is rebuilt from the votes'
counts per system pair, which SQL aggregates, together with the pairs that still have open
comparisons, and cached per process for `refresh_s` seconds: web processes stay stateless (any of
them rebuilds the same state from the database) and a pick costs one small query for the pairs under
lease plus the vectorised scoring (benchmarks/selection_live.py). A pick the cache made stale (the
pair ran out, or this annotator saw all of its comparisons) fails to claim; the service then asks
again without that pair, and at last takes any open comparison.
Pairs other annotators hold leases on are avoided while any other pair is open, so concurrent
annotators spread over the pairs instead of all voting on the single most informative one.
"""

import threading
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.campaigns.models import Campaign
from app.db import utcnow
from app.items.models import PAIR_SEPARATOR, Candidate, Comparison
from app.selection.config import SelectionConfig
from app.selection.ranking import BTPosterior, pair_position
from app.selection.strategies import get_strategy
from app.voting.models import Assignment, AssignmentStatus, Outcome, Vote

_rng = np.random.default_rng()
_winner, _loser = aliased(Candidate), aliased(Candidate)


@dataclass(frozen=True)
class _Snapshot:
    systems: list[str]
    index: dict[str, int]
    posterior: BTPosterior
    position_of: dict[str, int]  # pair key -> position in pair_index(n)
    key_at: dict[int, str]
    open_mask: np.ndarray  # positions whose pair had an open comparison when this was built
    built_at: float


_cache: dict[int, _Snapshot] = {}
_lock = threading.Lock()


def systems_posterior(session: Session, *, campaign: Campaign, max_age_s: float) -> _Snapshot | None:
    """The campaign's systems and their posterior, at most `max_age_s` old; None with under 2 systems."""
    now = time.monotonic()
    cached = _cache.get(campaign.id)
    if cached is not None and now - cached.built_at <= max_age_s:
        return cached
    keys = session.scalars(
        select(Comparison.pair_key)
        .where(Comparison.campaign_id == campaign.id, Comparison.pair_key.is_not(None))
        .distinct()
    ).all()
    systems = sorted({system for key in keys for system in key.split(PAIR_SEPARATOR)})
    if len(systems) < 2:
        return None
    index = {system: i for i, system in enumerate(systems)}
    wins = np.zeros((len(systems), len(systems)))
    preferences = session.execute(
        select(_winner.system, _loser.system, func.count())
        .select_from(Vote)
        .join(_winner, _winner.id == Vote.winner_candidate_id)
        .join(_loser, _loser.id == Vote.loser_candidate_id)
        .where(Vote.campaign_id == campaign.id, Vote.outcome == Outcome.preference)
        .group_by(_winner.system, _loser.system)
    )
    for winner, loser, n in preferences:
        if winner in index and loser in index and winner != loser:
            wins[index[winner], index[loser]] += n
    # Ties and "both bad" say the two are alike: half a win each, as the leaderboard counts them.
    even = session.execute(
        select(Comparison.pair_key, func.count())
        .select_from(Vote)
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .where(
            Vote.campaign_id == campaign.id,
            Vote.outcome.in_([Outcome.tie, Outcome.both_bad]),
            Comparison.pair_key.is_not(None),
        )
        .group_by(Comparison.pair_key)
    )
    for key, n in even:
        first, second = key.split(PAIR_SEPARATOR)
        if first != second:
            wins[index[first], index[second]] += n / 2
            wins[index[second], index[first]] += n / 2
    open_keys = frozenset(
        session.scalars(
            select(Comparison.pair_key)
            .where(
                Comparison.campaign_id == campaign.id,
                Comparison.open_slots > 0,
                Comparison.pair_key.is_not(None),
            )
            .distinct()
        )
    )
    n = len(systems)
    position_of: dict[str, int] = {}
    for key in keys:
        first, second = key.split(PAIR_SEPARATOR)
        if first != second:
            position_of[key] = int(pair_position(n, index[first], index[second]))
    open_mask = np.zeros(n * (n - 1) // 2, dtype=bool)
    open_mask[[position_of[key] for key in open_keys if key in position_of]] = True
    snapshot = _Snapshot(
        systems,
        index,
        BTPosterior.from_counts(wins),
        position_of,
        {position: key for key, position in position_of.items()},
        open_mask,
        now,
    )
    with _lock:
        _cache[campaign.id] = snapshot
    return snapshot


def forget(campaign_id: int) -> None:
    """Drops the cached posterior (tests, and after settings change)."""
    with _lock:
        _cache.pop(campaign_id, None)


def _leased_pair_keys(session: Session, *, campaign: Campaign) -> set[str]:
    return set(
        session.scalars(
            select(Comparison.pair_key)
            .join(Assignment, Assignment.comparison_id == Comparison.id)
            .where(
                Assignment.campaign_id == campaign.id,
                Assignment.status == AssignmentStatus.leased,
                Assignment.lease_expires_at > utcnow(),
                Comparison.pair_key.is_not(None),
            )
            .distinct()
        )
    )


def choose_pair_key(
    session: Session, *, campaign: Campaign, config: SelectionConfig, exclude: frozenset[str] = frozenset()
) -> str | None:
    """The system pair the next comparison should compare, or None to take any open one (nothing open
    as far as the cache knows, or fewer than two systems). `exclude`: pairs that failed to claim."""
    snapshot = systems_posterior(session, campaign=campaign, max_age_s=config.refresh_s)
    if snapshot is None:
        return None
    allowed = snapshot.open_mask.copy()
    for key in exclude:
        if key in snapshot.position_of:
            allowed[snapshot.position_of[key]] = False
    if not allowed.any():
        return None
    spread = allowed.copy()
    for key in _leased_pair_keys(session, campaign=campaign):
        if key in snapshot.position_of:
            spread[snapshot.position_of[key]] = False
    if spread.any():
        allowed = spread
    pick = get_strategy(config.strategy).next_pair(
        snapshot.posterior,
        excluded_pairs=~allowed,
        min_per_pair=config.min_per_pair,
        uniform_fraction=config.uniform_fraction,
        rng=_rng,
        criterion=config.criterion,
    )
    if pick is None:
        return None
    return snapshot.key_at[int(pair_position(len(snapshot.systems), pick[0], pick[1]))]


# --- arenas ---------------------------------------------------------------------------------------------

ARENA_UNIFORM_FRACTION = 0.1
ARENA_REFRESH_S = 2.0
_arena_cache: dict[int, tuple[float, dict[str, int], BTPosterior]] = {}


def arena_pair(session: Session, *, campaign_id: int, systems: list[str]) -> tuple[str, str] | None:
    """Two of `systems` for an arena's next battle by active selection over its counted battles (the
    leaderboard's counts), or None with fewer than two systems. Cached per process like campaigns."""
    from app.leaderboard.service import OVERALL, pair_counts  # the leaderboard imports arenas

    if len(systems) < 2:
        return None
    now = time.monotonic()
    cached = _arena_cache.get(campaign_id)
    if cached is None or now - cached[0] > ARENA_REFRESH_S or set(cached[1]) != set(systems):
        index = {system: i for i, system in enumerate(sorted(systems))}
        wins = np.zeros((len(index), len(index)))
        for cell in pair_counts(session, campaign_id=campaign_id).get(OVERALL, []):
            if cell.a in index and cell.b in index and cell.a != cell.b:
                i, j = index[cell.a], index[cell.b]
                wins[i, j] += cell.wins_a + cell.ties / 2
                wins[j, i] += cell.wins_b + cell.ties / 2
        cached = (now, index, BTPosterior.from_counts(wins))
        with _lock:
            _arena_cache[campaign_id] = cached
    _, index, posterior = cached
    pick = get_strategy("active").next_pair(posterior, uniform_fraction=ARENA_UNIFORM_FRACTION, rng=_rng)
    if pick is None:
        return None
    names = sorted(index, key=index.__getitem__)
    return names[pick[0]], names[pick[1]]
