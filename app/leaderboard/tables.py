"""What pages and endpoints show of a leaderboard, as plain data: observed and predicted win-rate
matrices, battle counts, the listing (minimum battles), a leaderboard per category, JSON and CSV.

Pure functions of pair counts and fitted boards; no database, no HTTP.
"""

import csv
import io
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from app.leaderboard.ratings import Leaderboard, PairCounts, Rating, bradley_terry_leaderboard, interval_ranks

CSV_COLUMNS = ("rank", "system", "rating", "lower", "upper", "battles")
Matrix = list[list[float | None]]


def _systems_of(counts: Sequence[PairCounts]) -> list[str]:
    return sorted({c.a for c in counts} | {c.b for c in counts})


def _tally(counts: Sequence[PairCounts], systems: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """won[i, j] (ties as half a win) and played[i, j] between the given systems; others are skipped."""
    where = {s: i for i, s in enumerate(systems)}
    won = np.zeros((len(systems), len(systems)))
    played = np.zeros((len(systems), len(systems)))
    for c in counts:
        if c.a not in where or c.b not in where:
            continue
        i, j = where[c.a], where[c.b]
        won[i, j] += c.wins_a + c.ties / 2
        won[j, i] += c.wins_b + c.ties / 2
        played[i, j] += c.wins_a + c.wins_b + c.ties
        played[j, i] += c.wins_a + c.wins_b + c.ties
    return won, played


def win_rate_matrix(
    counts: Sequence[PairCounts], systems: Sequence[str] | None = None
) -> tuple[list[str], Matrix]:
    """Systems and matrix[i][j] = share of battles i won against j (ties as half); None: never met.

    `systems` sets the rows' and columns' order (say, by rating) and which systems appear; by default
    every system in the counts, by name.
    """
    systems = _systems_of(counts) if systems is None else list(systems)
    won, played = _tally(counts, systems)
    matrix = [
        [round(won[i, j] / played[i, j], 4) if played[i, j] else None for j in range(len(systems))]
        for i in range(len(systems))
    ]
    return systems, matrix


def battle_count_matrix(
    counts: Sequence[PairCounts], systems: Sequence[str] | None = None
) -> tuple[list[str], list[list[int]]]:
    """Systems and matrix[i][j] = battles between i and j (both orders, ties included)."""
    systems = _systems_of(counts) if systems is None else list(systems)
    _, played = _tally(counts, systems)
    return systems, [[int(v) for v in row] for row in played]


def predicted_win_rate(ratings: Leaderboard | Mapping[str, float]) -> tuple[list[str], Matrix]:
    """Systems and matrix[i][j] = 1 / (1 + 10^((r_j - r_i) / 400)), i's expected share of its battles
    against j (ties as half a win, as in the fit) under Bradley-Terry on the Elo scale (Chiang et al.
    2024); None on the diagonal. Systems keep the given order (a board's: by rating)."""
    scores = {r.system: r.score for r in ratings.ratings} if isinstance(ratings, Leaderboard) else ratings
    systems = list(scores)
    values = np.array([scores[s] for s in systems], dtype=float)
    p = 1 / (1 + 10 ** ((values[None, :] - values[:, None]) / 400))
    matrix: Matrix = [
        [None if i == j else round(float(p[i, j]), 4) for j in range(len(systems))]
        for i in range(len(systems))
    ]
    return systems, matrix


def listed(board: Leaderboard, *, min_battles: int) -> Leaderboard:
    """The board without systems under `min_battles`, ranks recounted among those that remain.

    Every system stays in the fit: dropping a thin system's battles would also drop what they say
    about the systems it met. It is only left out of the listing, so that a rank is always the one the
    visible table implies (1 + the listed systems whose interval lies entirely above).
    """
    kept = [r for r in board.ratings if r.battles >= min_battles]
    lower = np.array([r.score if math.isnan(r.lower) else r.lower for r in kept])
    upper = np.array([r.score if math.isnan(r.upper) else r.upper for r in kept])
    ranks = interval_ranks(lower, upper) if kept else []
    return Leaderboard(
        ratings=[
            Rating(r.system, r.score, r.lower, r.upper, int(rank), r.battles)
            for r, rank in zip(kept, ranks, strict=True)
        ],
        style_coefficients=dict(board.style_coefficients),
    )


def category_leaderboards(
    counts: Mapping[str, Sequence[PairCounts]], *, rounds: int = 1000, seed: int = 0
) -> dict[str, Leaderboard]:
    """A Bradley-Terry leaderboard per category, keyed as the counts are: the overall counts under
    their own key (`service.pair_counts` uses ""), each tag's under the tag. Every category is fitted
    on its own battles, with all systems that played in it; list them with `listed`."""
    return {
        category: bradley_terry_leaderboard(list(category_counts), rounds=rounds, seed=seed)
        for category, category_counts in counts.items()
    }


def _number(value: float) -> float | None:
    # JSON has no NaN: a board fitted without bootstrap rounds has no interval ends.
    return None if math.isnan(value) else round(value, 2)


def rating_rows(board: Leaderboard) -> list[dict[str, Any]]:
    """One JSON-ready row per listed system, in the board's order."""
    return [
        {
            "system": r.system,
            "rating": _number(r.score),
            "lower": _number(r.lower),
            "upper": _number(r.upper),
            "rank": r.rank,
            "battles": r.battles,
        }
        for r in board.ratings
    ]


def to_json(
    board: Leaderboard,
    *,
    min_battles: int = 0,
    vote_count: int | None = None,
    computed_at: datetime | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    """A board as JSON: listed ratings with intervals and ranks, style coefficients, and whatever the
    caller stamps it with (vote count, time of computation, category...)."""
    data: dict[str, Any] = {
        "ratings": rating_rows(listed(board, min_battles=min_battles)),
        "style_coefficients": {name: round(value, 6) for name, value in board.style_coefficients.items()},
        "min_battles": min_battles,
    }
    if vote_count is not None:
        data["vote_count"] = vote_count
    if computed_at is not None:
        data["computed_at"] = computed_at.isoformat()
    return data | metadata


def to_csv(board: Leaderboard | Sequence[Mapping[str, Any]]) -> str:
    """rank, system, rating, lower, upper, battles: from a board (as it is: pass it through `listed`
    first to leave thin systems out), or from the rows `to_json` wrote."""
    rows = rating_rows(board) if isinstance(board, Leaderboard) else board
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_safe(row.get(k)) for k in CSV_COLUMNS})
    return buffer.getvalue()


def _csv_safe(value: Any) -> Any:
    # System names are user-supplied; a leading = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
