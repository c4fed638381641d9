"""The Bradley-Terry posterior and active pair selection (`app/selection/ranking.py`)."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from app.leaderboard.ratings import fit_bradley_terry
from app.selection.ranking import (
    CRITERIA,
    BTPosterior,
    bivariate_normal_cdf,
    excluded_mask,
    kendall_tau,
    next_pair,
    pair_index,
    pair_position,
    pair_scores,
    uniform_pair,
)


def _votes(truth: np.ndarray, count: int, seed: int = 0, ties: float = 0.1) -> list[tuple[int, int, float]]:
    rng = np.random.default_rng(seed)
    votes = []
    for _ in range(count):
        i, j = rng.choice(len(truth), 2, replace=False)
        if rng.random() < ties:
            votes.append((int(i), int(j), 0.5))
        else:
            won = rng.random() < 1 / (1 + np.exp(truth[j] - truth[i]))
            votes.append((int(i), int(j), float(won)))
    return votes


def _batch_map(
    votes: list[tuple[int, int, float]], n: int, prior_var: float
) -> tuple[np.ndarray, np.ndarray]:
    """An independent batch Laplace fit: MAP by scipy, Hessian by finite sums over the votes."""
    from scipy.optimize import minimize

    v = np.array(votes)
    i, j, y = v[:, 0].astype(int), v[:, 1].astype(int), v[:, 2]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        d = theta[i] - theta[j]
        loss = (y * np.logaddexp(0, -d) + (1 - y) * np.logaddexp(0, d)).sum() + (theta**2).sum() / (
            2 * prior_var
        )
        g_pair = -(y - 1 / (1 + np.exp(-d)))
        grad = theta / prior_var
        np.add.at(grad, i, g_pair)
        np.add.at(grad, j, -g_pair)
        return float(loss), grad

    theta = minimize(objective, np.zeros(n), jac=True, method="L-BFGS-B", options={"gtol": 1e-10}).x
    p = 1 / (1 + np.exp(-(theta[i] - theta[j])))
    hessian = np.eye(n) / prior_var
    for a, b, w in zip(i, j, p * (1 - p), strict=True):
        hessian[a, a] += w
        hessian[b, b] += w
        hessian[a, b] -= w
        hessian[b, a] -= w
    return theta, np.linalg.inv(hessian)


def test_one_vote_is_exactly_the_laplace_posterior() -> None:
    for outcome in (1.0, 0.0, 0.5):
        posterior = BTPosterior.new(4, prior_var=1.5)
        posterior.update(2, 0, outcome)
        mean, cov = _batch_map([(2, 0, outcome)], 4, 1.5)
        assert np.allclose(posterior.mean, mean, atol=1e-6)
        assert np.allclose(posterior.cov, cov, atol=1e-6)


def test_filtered_posterior_tracks_the_batch_laplace_fit() -> None:
    truth = np.linspace(-1.5, 1.5, 8)
    votes = _votes(truth, 2000, seed=3)
    posterior = BTPosterior.new(8)
    for i, j, outcome in votes:
        posterior.update(i, j, outcome)
    mean, cov = _batch_map(votes, 8, 1.0)
    # Filtering linearises each vote where the posterior stood then: close to the batch fit, not equal.
    assert np.abs(posterior.mean - mean).max() < 0.03
    assert np.allclose(np.diagonal(posterior.cov), np.diagonal(cov), rtol=0.05)
    # refit() is the batch fit itself.
    posterior.refit()
    assert np.abs(posterior.mean - mean).max() < 1e-5
    assert np.allclose(posterior.cov, cov, atol=1e-6)
    # Counts keep ties as half a win, like the leaderboard, and the MAP matches its fit.
    assert posterior.votes.sum() == 2 * len(votes)
    assert np.isclose(posterior.wins.sum(), len(votes))
    first, second = pair_index(8)
    wins = np.stack([posterior.wins[first, second], posterior.wins[second, first]], axis=1)
    leaderboard = fit_bradley_terry(np.stack([first, second], axis=1), wins, 8, l2=1 / 2)
    assert np.abs((posterior.mean - posterior.mean.mean()) - leaderboard).max() < 1e-3
    assert kendall_tau(posterior.mean, truth) > 0.9


def test_from_counts_and_dict_round_trip() -> None:
    posterior = BTPosterior.new(5)
    for i, j, outcome in _votes(np.arange(5.0), 300):
        posterior.update(i, j, outcome)
    rebuilt = BTPosterior.from_counts(posterior.wins)
    posterior.refit()
    assert np.allclose(rebuilt.mean, posterior.mean) and np.array_equal(rebuilt.votes, posterior.votes)
    again = BTPosterior.from_dict(posterior.to_dict())
    assert np.array_equal(again.cov, posterior.cov) and again.prior_var == posterior.prior_var


def test_a_new_system_joins_with_the_prior() -> None:
    posterior = BTPosterior.new(3)
    posterior.update(0, 1, 1.0)
    k = posterior.add_system()
    assert k == 3 and posterior.cov[3, 3] == 1.0 and not posterior.cov[3, :3].any()
    assert posterior.votes.shape == (4, 4)
    assert next_pair(posterior, rng=np.random.default_rng(0), uniform_fraction=0.0) is not None


def test_update_rejects_nonsense() -> None:
    posterior = BTPosterior.new(3)
    with pytest.raises(ValueError):
        posterior.update(1, 1, 1.0)
    with pytest.raises(ValueError):
        posterior.update(0, 1, 2.0)
    with pytest.raises(ValueError):
        BTPosterior.new(1)


def test_pair_positions_match_the_index() -> None:
    first, second = pair_index(7)
    positions = pair_position(7, second, first)  # either order
    assert np.array_equal(positions, np.arange(len(first)))


def test_bivariate_normal_cdf_matches_scipy() -> None:
    for h, k, rho in [(0.3, 0.5, 0.6), (-1.0, -0.2, 0.3), (1e-9, 2e-9, 0.66), (2.0, 3.0, 0.95)]:
        expected = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([h, k])
        assert bivariate_normal_cdf(np.array(h), np.array(k), np.array(rho)) == pytest.approx(
            expected, abs=1e-7
        )


def test_scores_prefer_uncertain_and_resolvable_pairs() -> None:
    mu = np.array([0.0, 0.0, 3.0, 0.0])
    variance = np.array([1.0, 0.01, 1.0, 4.0])
    for criterion in CRITERIA:
        scores = pair_scores(mu, variance, criterion)  # type: ignore[arg-type]
        assert scores[0] > scores[1]  # an unsettled pair beats a nearly settled one
        assert scores[0] > scores[2]  # a close pair beats a lopsided one
        assert (scores >= 0).all()
    # Two systems known to be almost equal: a vote hardly tells their order, so the ranking criterion
    # values them below a pair it can still settle.
    ranking = pair_scores(np.array([0.02, 0.6]), np.array([0.001, 0.3]), "ranking")
    assert ranking[1] > ranking[0]
    with pytest.raises(ValueError):
        pair_scores(mu, variance, "nonsense")  # type: ignore[arg-type]


def _trained(n: int = 10, votes: int = 400) -> BTPosterior:
    posterior = BTPosterior.new(n)
    for i, j, outcome in _votes(np.linspace(-1, 1, n), votes, seed=5):
        posterior.update(i, j, outcome)
    return posterior


def test_excluded_pairs_are_never_picked() -> None:
    posterior = _trained()
    rng = np.random.default_rng(0)
    first, second = pair_index(10)
    excluded = {(int(a), int(b)) for a, b in zip(first[::2], second[::2], strict=True)}
    excluded_reversed = [(b, a) for a, b in excluded]
    for fraction in (0.0, 0.5, 1.0):
        for _ in range(300):
            pair = next_pair(posterior, excluded_pairs=excluded_reversed, uniform_fraction=fraction, rng=rng)
            assert pair is not None and pair not in excluded and pair[0] < pair[1]
    mask = excluded_mask(10, excluded)
    assert mask.sum() == len(excluded)
    assert next_pair(posterior, excluded_pairs=np.ones(45, dtype=bool), rng=rng) is None
    assert uniform_pair(10, excluded_pairs=np.ones(45, dtype=bool), rng=rng) is None
    with pytest.raises(ValueError):
        excluded_mask(10, [(3, 3)])


def test_uniform_fraction_is_honoured() -> None:
    posterior = _trained()
    rng = np.random.default_rng(1)
    best = next_pair(posterior, uniform_fraction=0.0, rng=rng)
    assert all(next_pair(posterior, uniform_fraction=0.0, rng=rng) == best for _ in range(20))
    draws = 4000
    picks = [next_pair(posterior, uniform_fraction=0.3, rng=rng) for _ in range(draws)]
    # Not the best pair: only uniform picks, each of the 44 other pairs with probability 0.3 / 45.
    other = sum(p != best for p in picks) / draws
    expected = 0.3 * 44 / 45
    assert abs(other - expected) < 4 * np.sqrt(expected * (1 - expected) / draws)
    counts = np.bincount([pair_position(10, *p) for p in picks if p != best], minlength=45)
    assert (np.delete(counts, pair_position(10, *best)) > 0).all()  # every other pair drawn


def test_pairs_under_the_minimum_come_first() -> None:
    posterior = BTPosterior.new(6)
    rng = np.random.default_rng(2)
    for _ in range(15 * 2):
        i, j = next_pair(posterior, min_per_pair=2, uniform_fraction=0.1, rng=rng)  # type: ignore[misc]
        posterior.update(i, j, float(rng.random() < 0.5))
    first, second = pair_index(6)
    assert (posterior.votes[first, second] == 2).all()


def test_active_picks_concentrate_on_close_pairs() -> None:
    posterior = BTPosterior.new(6)
    truth = np.array([-3.0, -2.9, 0.0, 0.1, 3.0, 3.05])
    rng = np.random.default_rng(4)
    for i, j, outcome in _votes(truth, 600, seed=9, ties=0.0):
        posterior.update(i, j, outcome)
    picks = [next_pair(posterior, uniform_fraction=0.0, rng=rng) for _ in range(50)]
    assert all(abs(truth[a] - truth[b]) < 0.2 for a, b in picks)  # type: ignore[misc]


def test_next_pair_for_100_systems_never_picks_a_leased_pair() -> None:
    # Speed (5 ms at p99) is a benchmark target: `benchmarks/simulate.py --sections latency` measures it.
    posterior = BTPosterior.new(100)
    rng = np.random.default_rng(0)
    for i, j, outcome in _votes(rng.normal(0, 1, 100), 3000):
        posterior.update(i, j, outcome)
    leased = [tuple(int(k) for k in rng.choice(100, 2, replace=False)) for _ in range(50)]
    excluded = {frozenset(pair) for pair in leased}
    picks = [next_pair(posterior, excluded_pairs=leased, rng=rng) for _ in range(300)]
    assert all(p is not None and p[0] != p[1] and frozenset(p) not in excluded for p in picks)
