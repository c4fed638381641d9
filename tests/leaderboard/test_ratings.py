"""Leaderboard math on simulated battles with known strengths, against choix, and on PandaLM's
human judgments (5 real systems, 3 annotators per item)."""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from app.leaderboard.ratings import (
    ELO_SCALE,
    PairCounts,
    bradley_terry_leaderboard,
    fit_bradley_terry,
    interval_ranks,
    online_elo,
)
from app.leaderboard.style_control import style_controlled

PANDALM = Path(__file__).resolve().parents[3] / "shared" / "data" / "pandalm_testset_v1.json"


def _simulate(strengths: dict[str, float], per_pair: int, seed: int = 0) -> list[PairCounts]:
    rng = np.random.default_rng(seed)
    names = sorted(strengths)
    counts = []
    for x, a in enumerate(names):
        for b in names[x + 1 :]:
            p = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
            wins_a = int(rng.binomial(per_pair, p))
            counts.append(PairCounts(a, b, wins_a, per_pair - wins_a))
    return counts


def test_known_strengths_are_recovered_with_intervals_that_cover_them() -> None:
    truth = {"s1": 1.0, "s2": 0.5, "s3": 0.0, "s4": -0.5, "s5": -1.0}
    board = bradley_terry_leaderboard(_simulate(truth, per_pair=400), rounds=200, seed=1)
    assert [r.system for r in board.ratings] == ["s1", "s2", "s3", "s4", "s5"]
    assert [r.rank for r in board.ratings] == [1, 2, 3, 4, 5]
    for rating in board.ratings:
        true_elo = 1000 + ELO_SCALE * truth[rating.system]
        assert rating.lower <= true_elo <= rating.upper or abs(rating.score - true_elo) < 15
        assert rating.lower < rating.score < rating.upper and rating.battles == 1600
    assert np.mean([r.score for r in board.ratings]) == pytest.approx(1000, abs=1e-6)


def test_intervals_narrow_with_more_votes_and_ranks_follow_the_rule() -> None:
    truth = {"a": 0.2, "b": 0.1, "c": 0.0}
    few = bradley_terry_leaderboard(_simulate(truth, 50), rounds=200)
    many = bradley_terry_leaderboard(_simulate(truth, 5000), rounds=200)
    width = lambda board: np.mean([r.upper - r.lower for r in board.ratings])  # noqa: E731
    assert width(many) < width(few) / 5
    # Overlapping intervals share rank 1: nobody's lower bound is above their upper bound.
    assert [r.rank for r in few.ratings].count(1) >= 2
    assert list(interval_ranks(np.array([10.0, 5.0, 0.0]), np.array([12.0, 11.0, 2.0]))) == [1, 1, 3]


def test_agrees_with_choix_on_data_without_ties() -> None:
    choix = pytest.importorskip("choix")
    counts = _simulate({"a": 0.8, "b": 0.1, "c": -0.3, "d": -0.6}, per_pair=300, seed=3)
    names = sorted({c.a for c in counts} | {c.b for c in counts})
    where = {s: i for i, s in enumerate(names)}
    data: list[tuple[int, int]] = []
    for c in counts:
        data += [(where[c.a], where[c.b])] * int(c.wins_a) + [(where[c.b], where[c.a])] * int(c.wins_b)
    reference = choix.opt_pairwise(len(names), data, alpha=1e-4)
    pairs = np.array([[where[c.a], where[c.b]] for c in counts])
    wins = np.array([[c.wins_a, c.wins_b] for c in counts], dtype=float)
    ours = fit_bradley_terry(pairs, wins, len(names))
    assert ours == pytest.approx(reference - reference.mean(), abs=0.01)


def test_pandalm_human_judgments_give_a_consistent_leaderboard() -> None:
    rows = json.loads(PANDALM.read_text())
    tally: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        first, second = row["cmp_key"].split("_")
        for annotator in ("annotator1", "annotator2", "annotator3"):
            tally[(first, second, {0: "tie", 1: "a", 2: "b"}[int(row[annotator])])] += 1
    pairs = {(a, b) for a, b, _ in tally}
    counts = [
        PairCounts(a, b, tally[(a, b, "a")], tally[(a, b, "b")], tally[(a, b, "tie")])
        for a, b in sorted(pairs)
    ]
    board = bradley_terry_leaderboard(counts, rounds=300, seed=0)
    assert len(board.ratings) == 5 and sum(r.battles for r in board.ratings) == 2 * 3 * len(rows)
    assert all(r.lower <= r.score <= r.upper for r in board.ratings)
    scores = {r.system: r.score for r in board.ratings}
    # The fit is the maximum: each system's expected score (ties as halves) equals its observed score.
    for system in scores:
        observed = expected = 0.0
        for c in counts:
            if system not in (c.a, c.b):
                continue
            me, other = (c.a, c.b) if system == c.a else (c.b, c.a)
            won = (c.wins_a if system == c.a else c.wins_b) + c.ties / 2
            n = c.wins_a + c.wins_b + c.ties
            p = 1 / (1 + 10 ** ((scores[other] - scores[me]) / 400))
            observed, expected = observed + won, expected + n * p
        assert observed == pytest.approx(expected, rel=1e-3)


def test_online_elo_moves_toward_the_winner_and_conserves_points() -> None:
    scores = online_elo([("a", "b", 1.0), ("a", "b", 1.0), ("b", "c", 0.5), ("c", "a", 0.0)])
    assert scores["a"] > 1000 > scores["b"] and sum(scores.values()) == pytest.approx(3000)


def test_style_control_separates_length_from_quality() -> None:
    rng = np.random.default_rng(0)
    battles = []
    for _ in range(4000):
        a, b = rng.choice(["long-talker", "plain"], size=2, replace=False)
        length_gap = (1.0 if a == "long-talker" else -1.0) + rng.normal(0, 0.3)
        # Equal quality: only the length difference decides.
        outcome = float(rng.random() < 1 / (1 + np.exp(-1.5 * length_gap)))
        battles.append((str(a), str(b), outcome, np.array([length_gap])))
    long_wins = sum(o if a == "long-talker" else 1 - o for a, _, o, _ in battles)
    plain = bradley_terry_leaderboard(
        [PairCounts("long-talker", "plain", long_wins, len(battles) - long_wins)], rounds=50
    )
    controlled = style_controlled(battles, feature_names=["length"])
    gap = lambda board: abs(board.ratings[0].score - board.ratings[1].score)  # noqa: E731
    assert gap(plain) > 150 and gap(controlled) < 30
    assert controlled.style_coefficients["length"] == pytest.approx(1.5, abs=0.2)


def test_both_orientations_of_a_pair_count_as_one() -> None:
    merged = [PairCounts("a", "b", 60, 40, 10), PairCounts("b", "c", 55, 45)]
    split = [PairCounts("a", "b", 30, 20, 4), PairCounts("b", "a", 20, 30, 6), PairCounts("c", "b", 45, 55)]
    one = bradley_terry_leaderboard(merged, rounds=100, seed=3)
    other = bradley_terry_leaderboard(split, rounds=100, seed=3)
    assert [r.score for r in one.ratings] == pytest.approx([r.score for r in other.ratings], abs=1e-6)
    assert [r.battles for r in one.ratings] == [r.battles for r in other.ratings]


def test_without_bootstrap_rounds_intervals_are_missing_and_ranks_follow_the_scores() -> None:
    board = bradley_terry_leaderboard(
        [PairCounts("a", "b", 30, 10, 5), PairCounts("b", "c", 25, 15)], rounds=0
    )
    assert [r.system for r in board.ratings] == ["a", "b", "c"]
    assert [r.rank for r in board.ratings] == [1, 2, 3]
    assert all(np.isnan(r.lower) and np.isnan(r.upper) for r in board.ratings)
