"""Ratings from pairwise outcomes: Bradley-Terry by maximum likelihood with bootstrap intervals,
interval-aware ranks and an online Elo view (Bradley-Terry with style covariates: `style_control.py`).

Pure numpy/scipy on aggregated counts (one row per system pair: wins of a, wins of b, ties), so the
cost does not grow with the number of votes. Ties count as half a win for each side. Scores are on
the Elo scale: 400 / ln 10 per logit, centred on 1000 (Chatbot Arena, Chiang et al. 2024).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

ELO_SCALE = 400 / np.log(10)
ELO_BASE = 1000.0


@dataclass(frozen=True)
class PairCounts:
    """Outcomes between systems a and b (a listed first)."""

    a: str
    b: str
    wins_a: float
    wins_b: float
    ties: float = 0.0


@dataclass(frozen=True)
class Rating:
    system: str
    score: float
    lower: float
    upper: float
    rank: int
    battles: int


@dataclass
class Leaderboard:
    ratings: list[Rating]
    style_coefficients: dict[str, float] = field(default_factory=dict)


def _index(counts: list[PairCounts]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Systems, one row per unordered pair (lower index first; (a, b) and (b, a) merged), the wins of
    each side with ties as half a win each, and battles per system."""
    systems = sorted({c.a for c in counts} | {c.b for c in counts})
    where = {s: i for i, s in enumerate(systems)}
    merged: dict[tuple[int, int], list[float]] = {}
    for c in counts:
        i, j = where[c.a], where[c.b]
        won_i, won_j = c.wins_a + c.ties / 2, c.wins_b + c.ties / 2
        if i > j:
            i, j, won_i, won_j = j, i, won_j, won_i
        cell = merged.setdefault((i, j), [0.0, 0.0])
        cell[0] += won_i
        cell[1] += won_j
    pairs = np.array(list(merged), dtype=int).reshape(-1, 2)
    wins = np.array(list(merged.values()), dtype=float).reshape(-1, 2)
    battles = np.zeros(len(systems))
    np.add.at(battles, pairs[:, 0], wins.sum(1))
    np.add.at(battles, pairs[:, 1], wins.sum(1))
    return systems, pairs, wins, battles


def fit_bradley_terry(
    pairs: np.ndarray, wins: np.ndarray, n_systems: int, *, l2: float = 1e-4, start: np.ndarray | None = None
) -> np.ndarray:
    """Strengths (logits, mean zero) maximising sum w_ab log sigmoid(t_a - t_b) + w_ba log sigmoid(t_b - t_a).

    A tiny L2 term keeps systems that never lost (or never won) finite.
    """
    i, j = pairs[:, 0], pairs[:, 1]
    w_ij, w_ji = wins[:, 0], wins[:, 1]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        d = theta[i] - theta[j]
        # -log sigmoid(d) = logaddexp(0, -d)
        loss = (w_ij * np.logaddexp(0, -d) + w_ji * np.logaddexp(0, d)).sum() + l2 * (theta**2).sum()
        p = 1 / (1 + np.exp(-d))
        g_pair = -w_ij * (1 - p) + w_ji * p
        grad = np.zeros_like(theta)
        np.add.at(grad, i, g_pair)
        np.add.at(grad, j, -g_pair)
        return float(loss), grad + 2 * l2 * theta

    x0 = np.zeros(n_systems) if start is None else start
    # Tight tolerances: scipy's default ftol is relative to a loss that grows with the votes, and stops
    # about 0.07 rating points short on a million battles.
    options = {"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-9}
    result = minimize(objective, x0, jac=True, method="L-BFGS-B", options=options)
    theta = result.x
    return theta - theta.mean()


def interval_ranks(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """1 + the number of systems whose lower bound is above this one's upper bound."""
    return 1 + (lower[None, :] > upper[:, None]).sum(1)


def _newton_batch(
    pairs: np.ndarray,
    wins: np.ndarray,
    n: int,
    start: np.ndarray,
    *,
    l2: float = 1e-4,
    iterations: int = 30,
    tolerance: float = 1e-6,
) -> np.ndarray:
    """Bradley-Terry fits for many resamples at once: wins[r, k] = (wins of pairs[k, 0], of pairs[k, 1]).

    Newton's method on the penalised log likelihood, batched over the resamples: per pair the gradient
    term is N p - w (N games, p the first side's win probability) and the Hessian is the graph
    Laplacian of N p (1 - p) (Hunter 2004 for the model). Batching makes 1,000 bootstrap rounds a few
    dense solves instead of 1,000 optimiser runs.
    """
    first, second = pairs[:, 0], pairs[:, 1]
    incidence = np.zeros((len(pairs), n))
    incidence[np.arange(len(pairs)), first] = 1.0
    incidence[np.arange(len(pairs)), second] = -1.0
    touches = np.abs(incidence)
    games = wins.sum(2)
    theta = np.broadcast_to(start, (wins.shape[0], n)).copy()
    ridge = 2 * l2 * np.eye(n)
    diagonal = np.arange(n)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(theta[:, second] - theta[:, first]))
        grad = (games * p - wins[:, :, 0]) @ incidence + 2 * l2 * theta
        weight = games * p * (1 - p)
        hessian = np.zeros((wins.shape[0], n, n))
        hessian[:, first, second] = -weight
        hessian[:, second, first] = -weight
        hessian[:, diagonal, diagonal] = weight @ touches
        step = np.linalg.solve(hessian + ridge, grad[..., None])[..., 0]
        theta -= step
        if np.abs(step).max() < tolerance:  # in logits: 1e-6 is 0.0002 rating points
            break
    return theta - theta.mean(1, keepdims=True)


def bradley_terry_leaderboard(
    counts: list[PairCounts], *, rounds: int = 1000, seed: int = 0, min_battles: int = 0, chunk: int = 250
) -> Leaderboard:
    """Point scores, 95% bootstrap intervals (battles resampled from the counts) and ranks."""
    systems, pairs, wins, battles = _index(counts)
    if not systems:
        return Leaderboard(ratings=[])
    n = len(systems)
    theta = _newton_batch(pairs, wins[None], n, np.zeros(n))[0]
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, n))
    for first in range(0, rounds, chunk):
        size = min(chunk, rounds - first)
        # Poisson bootstrap: each cell's count redrawn as Poisson(count), which approximates resampling
        # the battles with replacement (Hanley & MacGibbon 2006) at a fraction of a multinomial's cost.
        drawn = rng.poisson(np.broadcast_to(wins, (size, *wins.shape))).astype(float)
        # Interval ends need far less precision than the point: 1e-4 logits is 0.02 rating points.
        samples[first : first + size] = _newton_batch(pairs, drawn, n, theta, tolerance=1e-4)
    return leaderboard_from_samples(systems, theta, samples, battles, min_battles=min_battles)


def leaderboard_from_samples(
    systems: Sequence[str],
    scores: np.ndarray,
    samples: np.ndarray,
    battles: np.ndarray,
    *,
    min_battles: int = 0,
    style_coefficients: dict[str, float] | None = None,
) -> Leaderboard:
    """Ratings on the Elo scale from point strengths and bootstrap samples (rounds x systems, logits).

    95% percentile intervals; with no samples the intervals are NaN and ranks follow the scores
    (intervals of zero width). Systems under `min_battles` are left out, and ranks are among the rest.
    """
    if len(samples):
        lower, upper = np.percentile(samples, [2.5, 97.5], axis=0)
    else:
        lower = upper = np.full(len(systems), np.nan)
    to_elo = lambda x: ELO_BASE + ELO_SCALE * x  # noqa: E731
    listed = np.asarray(battles) >= min_battles
    ranks = interval_ranks(
        to_elo(np.where(np.isnan(lower), scores, lower))[listed],
        to_elo(np.where(np.isnan(upper), scores, upper))[listed],
    )
    ratings = [
        Rating(
            system,
            float(to_elo(scores[k])),
            float(to_elo(lower[k])),
            float(to_elo(upper[k])),
            int(rank),
            int(battles[k]),
        )
        for (k, system), rank in zip([(k, s) for k, s in enumerate(systems) if listed[k]], ranks, strict=True)
    ]
    return Leaderboard(
        ratings=sorted(ratings, key=lambda r: (-r.score, r.system)),
        style_coefficients=dict(style_coefficients or {}),
    )


def online_elo(battles: list[tuple[str, str, float]], *, k: float = 4.0) -> dict[str, float]:
    """Elo updated battle by battle in order; the outcome is 1 (a won), 0 (b won) or 0.5 (tie)."""
    scores: dict[str, float] = {}
    for a, b, outcome in battles:
        ra, rb = scores.setdefault(a, ELO_BASE), scores.setdefault(b, ELO_BASE)
        expected = 1 / (1 + 10 ** ((rb - ra) / 400))
        scores[a] = ra + k * (outcome - expected)
        scores[b] = rb - k * (outcome - expected)
    return scores
