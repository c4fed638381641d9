"""What pages and endpoints show: win-rate matrices, the listing, categories, JSON and CSV."""

import csv
import io
import json
import math
from datetime import UTC, datetime

import pytest

from app.leaderboard.ratings import Leaderboard, PairCounts, Rating
from app.leaderboard.tables import (
    battle_count_matrix,
    category_leaderboards,
    listed,
    predicted_win_rate,
    to_csv,
    to_json,
    win_rate_matrix,
)

COUNTS = [
    PairCounts("b", "a", 30, 10, 20),  # b beat a 30 times, lost 10, tied 20
    PairCounts("a", "b", 5, 5),  # and the other way round: a won 5, b won 5
    PairCounts("a", "c", 8, 2),
]


def test_win_rates_count_ties_as_half_and_follow_the_given_order() -> None:
    systems, matrix = win_rate_matrix(COUNTS)
    assert systems == ["a", "b", "c"]
    # a against b: 10 + 5 wins, 20 ties, out of 70 battles.
    assert matrix[0][1] == pytest.approx((15 + 10) / 70, abs=1e-4)
    assert matrix[1][0] == pytest.approx((35 + 10) / 70, abs=1e-4)
    assert matrix[0][2] == 0.8 and matrix[2][0] == 0.2
    assert matrix[1][2] is None and matrix[0][0] is None  # never met, and itself

    systems, matrix = win_rate_matrix(COUNTS, ["c", "a", "x"])
    assert systems == ["c", "a", "x"]
    assert matrix == [[None, 0.2, None], [0.8, None, None], [None, None, None]]  # b left out, x never played

    _, battles = battle_count_matrix(COUNTS, ["a", "b", "c"])
    assert battles == [[0, 70, 10], [70, 0, 0], [10, 0, 0]]


def test_predicted_win_rates_follow_the_elo_formula() -> None:
    systems, matrix = predicted_win_rate({"top": 1400.0, "mid": 1000.0, "low": 1000.0})
    assert systems == ["top", "mid", "low"]
    assert matrix[0][1] == pytest.approx(10 / 11, abs=1e-4)  # 400 points: 10 to 1
    assert matrix[1][2] == 0.5 and matrix[0][0] is None
    assert matrix[0][1] + matrix[1][0] == pytest.approx(1)

    board = Leaderboard([Rating("x", 1100, 1090, 1110, 1, 50), Rating("y", 1000, 990, 1010, 2, 50)])
    assert predicted_win_rate(board)[0] == ["x", "y"]


def _board() -> Leaderboard:
    return Leaderboard(
        ratings=[
            Rating("new", 1200.0, 930.0, 1500.0, 1, 3),  # few battles, a wide interval
            Rating("best", 1100.0, 1080.0, 1120.0, 1, 400),
            Rating("next", 1050.0, 1030.0, 1070.0, 2, 400),
            Rating("last", 900.0, 880.0, 920.0, 4, 400),
        ],
        style_coefficients={"length": 0.31234567},
    )


def test_systems_under_the_minimum_are_not_listed_and_ranks_are_recounted() -> None:
    board = listed(_board(), min_battles=10)
    assert [r.system for r in board.ratings] == ["best", "next", "last"]
    assert [r.rank for r in board.ratings] == [1, 2, 3]  # "last" was 4th with "new" above it
    assert board.style_coefficients == {"length": 0.31234567}
    assert listed(_board(), min_battles=0) == _board()
    assert listed(_board(), min_battles=10_000).ratings == []


def test_without_intervals_ranks_follow_the_scores() -> None:
    nan = float("nan")
    board = Leaderboard([Rating("a", 1010.0, nan, nan, 0, 20), Rating("b", 990.0, nan, nan, 0, 20)])
    assert [r.rank for r in listed(board, min_battles=0).ratings] == [1, 2]
    data = to_json(board)
    assert data["ratings"][0]["lower"] is None and data["ratings"][0]["upper"] is None
    json.dumps(data, allow_nan=False)  # valid JSON: no NaN


def test_a_leaderboard_per_category_keyed_as_the_counts_are() -> None:
    boards = category_leaderboards({"": COUNTS, "code": [PairCounts("a", "b", 9, 1)]}, rounds=20, seed=1)
    assert set(boards) == {"", "code"}
    assert {r.system for r in boards[""].ratings} == {"a", "b", "c"}
    assert [r.system for r in boards["code"].ratings] == ["a", "b"]
    assert boards["code"].ratings[0].battles == 10


def test_json_has_the_listing_coefficients_and_the_stamp() -> None:
    computed = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    data = to_json(_board(), min_battles=10, vote_count=1203, computed_at=computed, category="code")
    assert data["ratings"][0] == {
        "system": "best",
        "rating": 1100.0,
        "lower": 1080.0,
        "upper": 1120.0,
        "rank": 1,
        "battles": 400,
    }
    assert [r["system"] for r in data["ratings"]] == ["best", "next", "last"]
    assert data["style_coefficients"] == {"length": 0.312346}
    assert data["min_battles"] == 10 and data["vote_count"] == 1203 and data["category"] == "code"
    assert data["computed_at"] == "2026-11-24T12:00:00+00:00"
    assert "vote_count" not in to_json(_board())
    json.dumps(data, allow_nan=False)


def test_csv_from_a_board_or_from_stored_rows_with_names_made_safe() -> None:
    board = Leaderboard(
        [Rating("=HYPERLINK(1)", 1000.123, 990.0, 1010.0, 1, 7), Rating('a,"b"', 990.0, 1, 2, 2, 3)]
    )
    text = to_csv(board)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["rank", "system", "rating", "lower", "upper", "battles"]
    assert rows[0]["system"] == "'=HYPERLINK(1)" and rows[0]["rating"] == "1000.12"
    assert rows[1]["system"] == 'a,"b"'
    assert to_csv(to_json(board)["ratings"]) == text
    nan = float("nan")
    no_interval = list(
        csv.DictReader(io.StringIO(to_csv(Leaderboard([Rating("x", 1000.0, nan, nan, 1, 1)]))))
    )
    assert no_interval[0]["lower"] == "" and not math.isnan(float(no_interval[0]["rating"]))
