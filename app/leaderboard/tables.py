"""Tables derived from pair counts and ratings: the observed win-rate matrix, and CSV."""

import csv
import io
from collections.abc import Sequence
from typing import Any

from app.leaderboard.ratings import PairCounts

CSV_COLUMNS = ("rank", "system", "rating", "lower", "upper", "battles")


def win_rate_matrix(counts: Sequence[PairCounts]) -> tuple[list[str], list[list[float | None]]]:
    """Systems and matrix[i][j] = share of battles i won against j (ties as half); None: never met."""
    systems = sorted({c.a for c in counts} | {c.b for c in counts})
    where = {s: i for i, s in enumerate(systems)}
    won = [[0.0] * len(systems) for _ in systems]
    played = [[0.0] * len(systems) for _ in systems]
    for c in counts:
        i, j = where[c.a], where[c.b]
        total = c.wins_a + c.wins_b + c.ties
        won[i][j] += c.wins_a + c.ties / 2
        won[j][i] += c.wins_b + c.ties / 2
        played[i][j] += total
        played[j][i] += total
    matrix = [
        [round(won[i][j] / played[i][j], 4) if played[i][j] else None for j in range(len(systems))]
        for i in range(len(systems))
    ]
    return systems, matrix


def to_csv(ratings: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in ratings:
        writer.writerow({k: _csv_safe(row.get(k)) for k in CSV_COLUMNS})
    return buffer.getvalue()


def _csv_safe(value: Any) -> Any:
    # System names are user-supplied; a leading = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
