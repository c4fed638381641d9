"""Style-controlled Bradley-Terry: the batched Newton fits against scipy's L-BFGS on the same
likelihood, ties as in the plain fit, length separated from strength, and the bootstrap's contract."""

import numpy as np
import pytest

from app.leaderboard import style_control
from app.leaderboard.ratings import ELO_SCALE, PairCounts, bradley_terry_leaderboard
from app.leaderboard.style_control import (
    StyleBattles,
    fit_style,
    fit_style_lbfgs,
    style_battles,
    style_controlled,
    style_controlled_leaderboard,
)

FEATURES = ["length", "headers", "lists", "bold"]


def simulate(
    battles: int = 20_000,
    systems: int = 8,
    *,
    length_effect: float = 0.6,
    tie_rate: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, StyleBattles]:
    """Known strengths; each system's verbosity is independent of its strength, and longer answers win
    more often. Ties are drawn so that a's expected score is sigmoid(logit): half a win is the truth."""
    rng = np.random.default_rng(seed)
    strengths = np.linspace(1.0, -1.0, systems)
    verbosity = rng.permutation(np.linspace(-0.6, 0.6, systems))
    a = rng.integers(0, systems, battles)
    b = (a + rng.integers(1, systems, battles)) % systems
    length_a = np.exp(verbosity[a] + rng.normal(0, 0.3, battles))
    length_b = np.exp(verbosity[b] + rng.normal(0, 0.3, battles))
    raw = np.column_stack([(length_a - length_b) / (length_a + length_b), rng.normal(size=(battles, 3))])
    x = (raw - raw.mean(0)) / raw.std(0)
    p = 1 / (1 + np.exp(-(strengths[a] - strengths[b] + x @ np.array([length_effect, 0.1, 0.0, 0.0]))))
    tie_probability = tie_rate / (p * (1 - p)).mean() * p * (1 - p)
    draw = rng.random(battles)
    outcome = np.where(draw < tie_probability, 0.5, (draw < tie_probability + p - tie_probability / 2) * 1.0)
    names = [f"s{k}" for k in range(systems)]
    return strengths, StyleBattles(names, FEATURES, a, b, outcome, x)


def test_newton_point_agrees_with_scipy_lbfgs_within_a_tenth_of_a_point() -> None:
    _, data = simulate()
    newton = fit_style(data)[0]
    reference = fit_style_lbfgs(data)
    # Ratings and coefficients alike, on the rating scale (400 / ln 10 per logit).
    assert np.abs(ELO_SCALE * (newton - reference)).max() < 0.1
    assert np.abs(ELO_SCALE * (newton - reference)).max() < 0.01  # in fact far closer
    assert newton[: len(data.systems)].mean() == pytest.approx(0, abs=1e-12)


def test_batched_bootstrap_fits_agree_with_one_lbfgs_fit_per_resample() -> None:
    _, data = simulate(battles=8000, systems=6)
    rng = np.random.default_rng(4)
    battles = len(data.outcome)
    weights = np.column_stack(
        [np.bincount(rng.integers(0, battles, battles), minlength=battles) for _ in range(5)]
    )
    batched = fit_style(data, weights=weights)
    for column in range(weights.shape[1]):
        reference = fit_style_lbfgs(data, weights=weights[:, column])
        assert np.abs(ELO_SCALE * (batched[column] - reference)).max() < 0.01
    # The resamples really differ: agreement is not just every round returning the point.
    assert np.ptp(batched[:, 0]) * ELO_SCALE > 1


def test_the_fast_bootstrap_stops_close_to_each_rounds_optimum() -> None:
    _, data = simulate(battles=30_000, systems=10)
    design = style_control._design(data)
    point = style_control._fit_point(design, 1e-4)
    weights = style_control._resampled(np.random.default_rng(0), len(data.outcome), 6)
    fast = style_control._fit_rounds(
        design, weights, point, l2=1e-4, tolerance=style_control.BOOTSTRAP_TOLERANCE
    )
    exact = style_control._fit_rounds(design, weights, point, l2=1e-4, tolerance=1e-12)
    assert np.abs(ELO_SCALE * (fast - exact)).max() < 0.05


def test_ties_count_as_half_a_win_as_in_the_plain_fit() -> None:
    rng = np.random.default_rng(1)
    strengths = {"a": 0.5, "b": 0.0, "c": -0.4}
    rows = []
    for _ in range(3000):
        first, second = (str(s) for s in rng.choice(list(strengths), 2, replace=False))
        p = 1 / (1 + np.exp(strengths[second] - strengths[first]))
        outcome = 0.5 if rng.random() < 0.25 else float(rng.random() < p)
        rows.append((first, second, outcome, np.zeros(1)))
    # With a feature that is always 0, style control is the plain fit: same ratings, coefficient 0.
    controlled = style_controlled(rows, feature_names=["nothing"])
    tally: dict[tuple[str, str], list[float]] = {}
    for first, second, outcome, _ in rows:
        cell = tally.setdefault((first, second), [0.0, 0.0, 0.0])
        cell[0 if outcome == 1 else 1 if outcome == 0 else 2] += 1
    plain = bradley_terry_leaderboard([PairCounts(a, b, *cell) for (a, b), cell in tally.items()], rounds=0)
    assert [r.system for r in controlled.ratings] == [r.system for r in plain.ratings]
    for ours, theirs in zip(controlled.ratings, plain.ratings, strict=True):
        assert ours.score == pytest.approx(theirs.score, abs=0.01)
    assert controlled.style_coefficients["nothing"] == pytest.approx(0, abs=1e-9)

    # And a tie is exactly a half win plus a half loss: the same fit as two weighted rows.
    data = style_battles(rows, feature_names=["nothing"])
    tie = data.outcome == 0.5
    split = StyleBattles(
        data.systems,
        data.feature_names,
        np.concatenate([data.first, data.first[tie]]),
        np.concatenate([data.second, data.second[tie]]),
        np.concatenate([np.where(tie, 1.0, data.outcome), np.zeros(tie.sum())]),
        np.concatenate([data.features, data.features[tie]]),
    )
    weights = np.concatenate([np.where(tie, 0.5, 1.0), np.full(tie.sum(), 0.5)])
    assert fit_style(split, weights=weights, tolerance=1e-12)[0] == pytest.approx(
        fit_style(data)[0], abs=1e-7
    )


def test_style_control_removes_the_length_bias_of_the_plain_fit() -> None:
    truth, data = simulate(battles=40_000, systems=10, length_effect=0.8)
    board = style_controlled_leaderboard(data, rounds=50, seed=2)
    assert board.style_coefficients["length"] == pytest.approx(0.8, abs=0.05)
    assert board.style_coefficients["headers"] == pytest.approx(0.1, abs=0.05)
    assert abs(board.style_coefficients["bold"]) < 0.05
    controlled = {r.system: r for r in board.ratings}
    true_elo = {s: 1000 + ELO_SCALE * t for s, t in zip(data.systems, truth, strict=True)}
    assert max(abs(controlled[s].score - true_elo[s]) for s in data.systems) < 15
    covered = sum(controlled[s].lower <= true_elo[s] <= controlled[s].upper for s in data.systems)
    assert covered >= 8

    counts: dict[tuple[str, str], list[float]] = {}
    for i, j, outcome in zip(data.first, data.second, data.outcome, strict=True):
        cell = counts.setdefault((data.systems[i], data.systems[j]), [0.0, 0.0, 0.0])
        cell[0 if outcome == 1 else 1 if outcome == 0 else 2] += 1
    plain = bradley_terry_leaderboard([PairCounts(a, b, *c) for (a, b), c in counts.items()], rounds=0)
    plain_error = max(abs(r.score - true_elo[r.system]) for r in plain.ratings)
    assert plain_error > 40  # the verbose systems are overrated, the terse ones underrated


def test_bootstrap_intervals_ranks_and_reproducibility() -> None:
    _, data = simulate(battles=10_000, systems=6)
    board = style_controlled_leaderboard(data, rounds=60, seed=7)
    assert [r.system for r in board.ratings] == [f"s{k}" for k in range(6)]
    for rating in board.ratings:
        assert rating.lower < rating.score < rating.upper
    assert board.ratings[0].rank == 1 and board.ratings[-1].rank > 1
    assert sum(r.battles for r in board.ratings) == 2 * 10_000
    again = style_controlled_leaderboard(data, rounds=60, seed=7)
    assert again == board
    assert style_controlled_leaderboard(data, rounds=60, seed=8) != board


def test_chunks_of_rounds_give_the_same_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    _, data = simulate(battles=5000, systems=5)
    whole = style_controlled_leaderboard(data, rounds=40, seed=3)
    monkeypatch.setattr(style_control, "CHUNK_CELLS", 5000 * 7)  # 7 rounds at a time
    chunked = style_controlled_leaderboard(data, rounds=40, seed=3)
    for a, b in zip(whole.ratings, chunked.ratings, strict=True):
        assert (a.system, a.rank) == (b.system, b.rank)
        assert a.lower == pytest.approx(b.lower, abs=0.05) and a.upper == pytest.approx(b.upper, abs=0.05)


def test_no_rounds_thin_systems_and_a_system_that_never_lost() -> None:
    rows = [("a", "b", 1.0, np.array([0.3])), ("b", "a", 0.0, np.array([-0.1]))] * 20
    rows += [("b", "c", 1.0, np.array([0.1])), ("c", "b", 1.0, np.array([0.2]))] * 30
    rows += [("d", "c", 0.5, np.array([0.0]))]
    board = style_controlled(rows, feature_names=["length"], rounds=0)
    assert all(np.isnan(r.lower) and np.isnan(r.upper) for r in board.ratings)
    assert [r.rank for r in board.ratings] == [1, 2, 3, 4]  # by score, without intervals
    assert board.ratings[0].system == "a" and np.isfinite(board.ratings[0].score)  # never lost: ridge

    listed = style_controlled(rows, feature_names=["length"], rounds=30, min_battles=2)
    assert "d" not in {r.system for r in listed.ratings}
    assert all(np.isfinite([r.score, r.lower, r.upper]).all() for r in listed.ratings)


def test_orientation_does_not_matter() -> None:
    _, data = simulate(battles=3000, systems=4)
    swapped = StyleBattles(
        data.systems, data.feature_names, data.second, data.first, 1 - data.outcome, -data.features
    )
    assert fit_style(swapped)[0] == pytest.approx(fit_style(data)[0], abs=1e-9)


def test_inconsistent_battles_are_refused() -> None:
    with pytest.raises(ValueError, match="one row per battle"):
        StyleBattles(
            ["a", "b"], ["length"], np.array([0]), np.array([1, 0]), np.array([1.0]), np.zeros((1, 1))
        )
    with pytest.raises(ValueError, match="two different systems"):
        StyleBattles(["a"], ["length"], np.array([0]), np.array([0]), np.array([1.0]), np.zeros((1, 1)))
