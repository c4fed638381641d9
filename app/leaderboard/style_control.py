"""Bradley-Terry with style covariates: P(a beats b) = sigmoid(theta_a - theta_b + beta . (f_a - f_b)).

The model of LMSYS's style control ("Does style matter? Disentangling style and substance in Chatbot
Arena", 2024): a logistic regression on per-battle rows whose covariates are the two systems (+1 for
a, -1 for b) and the standardised style differences (length, markdown, any numeric metadata). Ties
count as half a win for each side, as in the plain fit (Bradley & Terry 1952; Chiang et al. 2024).

Fitted by Newton's method with the exact Hessian, assembled from blocks instead of a dense design
matrix: with battles sorted by system pair, system x system is a graph Laplacian of per-pair sums,
system x feature comes from per-pair sums of weighted features, and feature x feature is X^T W X.
Bootstrap rounds are fitted many at once as columns of a weight matrix (battles x rounds), warm-started
from the point estimate: the first step there needs only one probability per battle for all rounds,
and later steps keep that Hessian (a chord method), which converges in one or two steps because a
resample moves the optimum very little.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit

from app.leaderboard.ratings import Leaderboard, leaderboard_from_samples

# Bootstrap steps stop when the estimated distance to each round's optimum is below this, in logits:
# 1e-4 logits is 0.04 rating points, far below an interval's width.
BOOTSTRAP_TOLERANCE = 1e-4
# Cells of the (battles x rounds) work arrays held at once: 64 MB per float64 array, a few alive at a
# time. Larger chunks were no faster on a million battles (memory-bound either way).
CHUNK_CELLS = 8_000_000


def standardised_differences(a: np.ndarray, b: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Style differences per battle (rows) and feature (columns): (a - b) / (a + b), 0 when both are 0
    (the normalisation of the LMSYS style-control write-up), then standardised over the battles so the
    coefficients compare across features. A feature that never differs (text length in an audio
    arena, list counts in a log that has none) says nothing and is left out, with its name."""
    total = a + b
    diff = np.divide(a - b, total, out=np.zeros_like(total, dtype=float), where=total != 0)
    spread = diff.std(0)
    varies = spread > 0
    standardised = (diff[:, varies] - diff.mean(0)[varies]) / spread[varies]
    return standardised, [name for name, kept in zip(names, varies, strict=True) if kept]


@dataclass(frozen=True, eq=False)
class StyleBattles:
    """One row per battle: side a's and side b's system index, the outcome (1: a won, 0: b won,
    0.5: tie) and the style differences a - b, already normalised by the caller."""

    systems: list[str]
    feature_names: list[str]
    first: np.ndarray
    second: np.ndarray
    outcome: np.ndarray
    features: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.first)
        if not (
            len(self.second) == len(self.outcome) == n and self.features.shape == (n, len(self.feature_names))
        ):
            raise ValueError("first, second, outcome and features need one row per battle")
        if n and (np.any(self.first == self.second)):
            raise ValueError("a battle needs two different systems")


def style_battles(
    rows: Sequence[tuple[str, str, float, np.ndarray]], *, feature_names: Sequence[str]
) -> StyleBattles:
    """StyleBattles from (system a, system b, outcome, feature differences) rows."""
    systems = sorted({a for a, _, _, _ in rows} | {b for _, b, _, _ in rows})
    where = {s: k for k, s in enumerate(systems)}
    m = len(feature_names)
    return StyleBattles(
        systems=systems,
        feature_names=list(feature_names),
        first=np.array([where[a] for a, _, _, _ in rows], dtype=np.int64),
        second=np.array([where[b] for _, b, _, _ in rows], dtype=np.int64),
        outcome=np.array([o for _, _, o, _ in rows], dtype=float),
        features=np.array([f for _, _, _, f in rows], dtype=float).reshape(len(rows), m),
    )


@dataclass(frozen=True, eq=False)
class _Design:
    """The battles sorted by unordered system pair (lower index first, features and outcome flipped
    to match), with the sparse sums and products every Newton step needs."""

    n_systems: int
    order: np.ndarray  # sorted position -> caller's row
    pairs: np.ndarray  # (pairs, 2)
    lengths: np.ndarray  # battles per pair
    y: np.ndarray  # (battles, 1)
    x: np.ndarray  # (battles, features)
    x_columns: np.ndarray  # (features, battles): x transposed, for products that sum over battles
    x_products: np.ndarray  # (features * (features + 1) / 2, battles): x_f * x_g for f <= g
    pair_sum: sp.csr_matrix  # (pairs, battles): sums a column over each pair's battles
    pair_feature_sum: sp.csr_matrix  # (pairs * (1 + features), battles): the same, times 1 and each x_f
    incidence: sp.csr_matrix  # (systems, pairs): +1 where the system is a pair's lower index, -1 higher
    touches: sp.csr_matrix  # (systems, pairs): 1 where the system is in the pair

    @property
    def n_params(self) -> int:
        return self.n_systems + self.x.shape[1]


def _design(data: StyleBattles) -> _Design:
    n, m = len(data.systems), len(data.feature_names)
    flip = data.first > data.second
    low = np.where(flip, data.second, data.first)
    high = np.where(flip, data.first, data.second)
    # 16-bit keys (up to 255 systems) let numpy sort by radix: 5 ms instead of 70 for a million battles.
    key = (low * n + high).astype(np.uint16 if n * n <= 2**16 else np.int64)
    order = np.argsort(key, kind="stable")
    low, high, flip = low[order], high[order], flip[order]
    sign = np.where(flip, -1.0, 1.0)
    x = np.ascontiguousarray(data.features[order] * sign[:, None])
    x_columns = np.ascontiguousarray(x.T)
    y = np.where(flip, 1.0 - data.outcome[order], data.outcome[order])[:, None]
    starts = np.flatnonzero(np.r_[True, (low[1:] != low[:-1]) | (high[1:] != high[:-1])])
    lengths = np.diff(np.r_[starts, len(low)])
    pairs = np.stack([low[starts], high[starts]], axis=1)
    upper = np.triu_indices(m)
    # Sparse: a dense (pairs x systems) matrix would hold 10^8 zeros with a thousand systems.
    ends = np.r_[pairs[:, 0], pairs[:, 1]]
    every_pair = np.tile(np.arange(len(pairs)), 2)
    signs = np.r_[np.ones(len(pairs)), -np.ones(len(pairs))]
    incidence = sp.csr_matrix((signs, (ends, every_pair)), shape=(n, len(pairs)))
    return _Design(
        n_systems=n,
        order=order,
        pairs=pairs,
        lengths=lengths,
        y=y,
        x=x,
        x_columns=x_columns,
        x_products=x_columns[upper[0]] * x_columns[upper[1]],
        pair_sum=_segment_sums(lengths, np.ones((1, len(x)))),
        pair_feature_sum=_segment_sums(lengths, np.vstack([np.ones(len(x)), x_columns])),
        incidence=incidence,
        touches=abs(incidence),
    )


def _segment_sums(lengths: np.ndarray, values: np.ndarray) -> sp.csr_matrix:
    """A sparse matrix whose row (pair q, value t) holds values[t, k] for each battle k of pair q, so
    that matrix @ M sums the rows of M over each pair, weighted by each row of values in turn.

    Rows are pair-major: the t products of one pair read the same few rows of M while they are in cache.
    """
    t, battles = values.shape
    by_column = sp.csr_matrix(
        (values.ravel(), np.tile(np.arange(battles), t), np.r_[0, np.cumsum(np.tile(lengths, t))]),
        shape=(t * len(lengths), battles),
    )
    return by_column[(np.arange(len(lengths))[:, None] + len(lengths) * np.arange(t)).ravel()]


def _logits(design: _Design, params: np.ndarray) -> np.ndarray:
    """Logit of the lower-index side winning, per battle and parameter row: (battles, rows)."""
    n = design.n_systems
    theta, beta = params[:, :n], params[:, n:]
    pair_gap = (theta[:, design.pairs[:, 0]] - theta[:, design.pairs[:, 1]]).T
    logits = np.repeat(pair_gap, design.lengths, axis=0)
    logits += design.x @ beta.T
    return logits


def _probabilities(design: _Design, params: np.ndarray) -> np.ndarray:
    """sigmoid(logits), computed in place as 1 / (1 + exp(-logit)): half the time of scipy's expit."""
    p = np.negative(_logits(design, params))
    with np.errstate(over="ignore"):  # exp(large) = inf gives p = 0, as it should
        np.exp(p, out=p)
    p += 1.0
    return np.reciprocal(p, out=p)


def _loss(design: _Design, params: np.ndarray, l2: float) -> float:
    """Penalised negative log likelihood of one parameter row, all weights 1 (ties: y = 0.5)."""
    logits = _logits(design, params)
    # -[y log sigmoid(d) + (1 - y) log sigmoid(-d)] = log(1 + exp(-d)) + (1 - y) d
    return float((np.logaddexp(0, -logits) + (1 - design.y) * logits).sum() + l2 * (params**2).sum())


def _gradient(
    design: _Design, p: np.ndarray, weights: np.ndarray, params: np.ndarray, l2: float, *, reuse: bool = False
) -> np.ndarray:
    """Gradient of the penalised negative log likelihood, one row per weight column. With `reuse`,
    p (battles x rounds) is overwritten by the residuals instead of allocating another array."""
    if reuse:
        residual = np.subtract(p, design.y, out=p)
        residual *= weights
    else:
        residual = weights * (p - design.y)
    per_pair = design.pair_sum @ residual
    return np.hstack([(design.incidence @ per_pair).T, (design.x_columns @ residual).T]) + 2 * l2 * params


def _hessian(design: _Design, p: np.ndarray, weights: np.ndarray, l2: float) -> np.ndarray:
    """Exact Hessian per weight column, from its blocks: (rounds, params, params)."""
    n, m = design.n_systems, design.x.shape[1]
    curvature = weights * (p * (1 - p))
    rounds = curvature.shape[1]
    sums = (design.pair_feature_sum @ curvature).reshape(len(design.pairs), 1 + m, rounds)
    per_pair, per_pair_feature = sums[:, 0, :], sums[:, 1:, :]
    hessian = np.zeros((rounds, n + m, n + m))
    low, high = design.pairs[:, 0], design.pairs[:, 1]
    hessian[:, low, high] = -per_pair.T
    hessian[:, high, low] = -per_pair.T
    systems = np.arange(n)
    hessian[:, systems, systems] = (design.touches @ per_pair).T
    cross = (design.incidence @ per_pair_feature.reshape(len(design.pairs), m * rounds)).reshape(n, m, rounds)
    cross = cross.transpose(2, 0, 1)
    hessian[:, :n, n:] = cross
    hessian[:, n:, :n] = cross.transpose(0, 2, 1)
    f, g = np.triu_indices(m)
    products = (design.x_products @ curvature).T
    hessian[:, n + f, n + g] = products
    hessian[:, n + g, n + f] = products
    everything = np.arange(n + m)
    hessian[:, everything, everything] += 2 * l2
    return hessian


def _newton_step(hessian: np.ndarray, gradient: np.ndarray, max_step: float = 2.0) -> np.ndarray:
    step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
    # A guard for rounds fitted without a line search: a resample in which a system barely played (or
    # never lost) can ask for a huge step; capping it keeps Newton from overshooting into a flat region.
    largest = np.abs(step).max(1, keepdims=True)
    return step * np.minimum(1.0, max_step / np.maximum(largest, 1e-300))


def _centre(design: _Design, params: np.ndarray) -> np.ndarray:
    params = params.copy()
    params[:, : design.n_systems] -= params[:, : design.n_systems].mean(1, keepdims=True)
    return params


def _fit_point(design: _Design, l2: float, tolerance: float = 1e-10, iterations: int = 100) -> np.ndarray:
    """The maximum likelihood point, by Newton from zero with a backtracking line search: (1, params)."""
    params = np.zeros((1, design.n_params))
    weights = np.ones((len(design.x), 1))
    loss = _loss(design, params, l2)
    for _ in range(iterations):
        p = _probabilities(design, params)
        gradient = _gradient(design, p, weights, params, l2)
        step = np.linalg.solve(_hessian(design, p, weights, l2), gradient[..., None])[..., 0]
        decrease = float(gradient[0] @ step[0])  # > 0: the Hessian is positive definite
        scale = 1.0
        while True:
            candidate = params - scale * step
            candidate_loss = _loss(design, candidate, l2)
            # Armijo's condition, with room for the rounding of a sum over a million battles.
            enough = loss - 1e-4 * scale * decrease + 1e-12 * abs(loss)
            if candidate_loss <= enough or scale < 1e-6:
                break
            scale /= 2
        params, loss = candidate, candidate_loss
        if scale * np.abs(step).max() < tolerance:
            break
    return _centre(design, params)


def _fit_rounds(
    design: _Design,
    weights: np.ndarray,
    start: np.ndarray,
    *,
    l2: float,
    tolerance: float,
    iterations: int = 50,
    refresh_after: int = 3,
) -> np.ndarray:
    """Fits for each column of weights (battles in design order x rounds), from the point `start`.

    Step 1 is Newton at the shared start: one probability per battle serves every round. Later steps
    reuse that Hessian with each round's own gradient; a round stops once the distance to its optimum,
    estimated from the contraction of its last two steps (|s_k| r / (1 - r), r = |s_k| / |s_k-1|), is
    below `tolerance`. Rounds still moving after `refresh_after` steps get fresh Hessians (plain Newton).
    """
    rounds = weights.shape[1]
    params = np.repeat(start, rounds, axis=0)
    p = _probabilities(design, start)
    hessian = _hessian(design, p, weights, l2)
    step = _newton_step(hessian, _gradient(design, p, weights, params, l2))
    params -= step
    active = np.arange(rounds)
    previous = np.abs(step).max(1)
    for iteration in range(1, iterations):
        w = weights if len(active) == rounds else weights[:, active]
        p = _probabilities(design, params[active])
        if iteration >= refresh_after:
            hessian[active] = _hessian(design, p, w, l2)
        step = _newton_step(hessian[active], _gradient(design, p, w, params[active], l2, reuse=True))
        params[active] -= step
        size = np.abs(step).max(1)
        ratio = np.minimum(size / previous[active], 0.99)
        previous[active] = size
        moving = size * ratio / (1 - ratio) >= tolerance
        if not moving.any():
            break
        active = active[moving]
    return _centre(design, params)


def fit_style(
    data: StyleBattles, *, weights: np.ndarray | None = None, l2: float = 1e-4, tolerance: float = 1e-8
) -> np.ndarray:
    """Style-controlled fits, one per column of `weights` (battles x fits; default one fit, weight 1).

    Returns (fits, systems + features): system strengths in logits, centred, then the coefficients.
    Weighted fits start from the unweighted optimum (the bootstrap's case: resampled weights).
    """
    if not len(data.outcome):
        raise ValueError("no battles to fit")
    design = _design(data)
    point = _fit_point(design, l2)
    if weights is None:
        return point
    weights = np.asarray(weights, dtype=float).reshape(len(design.x), -1)[design.order]
    return _fit_rounds(design, weights, point, l2=l2, tolerance=tolerance)


def _resampled(rng: np.random.Generator, battles: int, rounds: int) -> np.ndarray:
    """How often each battle is drawn when `battles` are drawn with replacement, per round: (battles,
    rounds). Bytes: an eighth of the memory traffic of floats, and numpy widens them inside each product.
    A count above 255 cannot happen with fewer battles and has probability below 1e-500 with more."""
    counts = np.empty((battles, rounds), dtype=np.uint8)
    for column in range(rounds):
        counts[:, column] = np.bincount(rng.integers(0, battles, battles), minlength=battles)
    return counts


def style_controlled_leaderboard(
    data: StyleBattles, *, rounds: int = 100, seed: int = 0, l2: float = 1e-4, min_battles: int = 0
) -> Leaderboard:
    """Style-controlled scores with 95% bootstrap intervals, ranks and the coefficients.

    The bootstrap resamples battles with replacement (weights ~ Multinomial(n, 1/n) per round), in
    chunks of rounds so that the work arrays stay within CHUNK_CELLS.
    """
    if not len(data.outcome):
        return Leaderboard(ratings=[], style_coefficients={name: 0.0 for name in data.feature_names})
    design = _design(data)
    n, battles = design.n_systems, len(design.x)
    point = _fit_point(design, l2)
    samples = np.empty((rounds, n))
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // max(battles, 1))
    for first in range(0, rounds, chunk):
        size = min(chunk, rounds - first)
        weights = _resampled(rng, battles, size)
        fitted = _fit_rounds(design, weights, point, l2=l2, tolerance=BOOTSTRAP_TOLERANCE)
        samples[first : first + size] = fitted[:, :n]
    battle_counts = np.bincount(data.first, minlength=n) + np.bincount(data.second, minlength=n)
    return leaderboard_from_samples(
        data.systems,
        point[0, :n],
        samples,
        battle_counts,
        min_battles=min_battles,
        style_coefficients={name: float(b) for name, b in zip(data.feature_names, point[0, n:], strict=True)},
    )


def style_controlled(
    battles: Sequence[tuple[str, str, float, np.ndarray]],
    *,
    feature_names: Sequence[str],
    rounds: int = 0,
    seed: int = 0,
    l2: float = 1e-4,
    min_battles: int = 0,
) -> Leaderboard:
    """`style_controlled_leaderboard` on (system a, system b, outcome, feature differences) rows."""
    return style_controlled_leaderboard(
        style_battles(battles, feature_names=feature_names),
        rounds=rounds,
        seed=seed,
        l2=l2,
        min_battles=min_battles,
    )


def fit_style_lbfgs(
    data: StyleBattles,
    *,
    weights: np.ndarray | None = None,
    l2: float = 1e-4,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """The same maximum, found another way: scipy's L-BFGS on the per-battle loss. The reference the
    tests and the benchmark check the Newton fits against; too slow for bootstrapping large logs."""
    n, m = len(data.systems), len(data.feature_names)
    i, j, y, x = data.first, data.second, data.outcome, data.features
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)

    def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
        d = params[i] - params[j] + x @ params[n:]
        loss = (w * (y * np.logaddexp(0, -d) + (1 - y) * np.logaddexp(0, d))).sum()
        g = w * (expit(d) - y)
        grad = np.concatenate([np.bincount(i, g, n) - np.bincount(j, g, n), x.T @ g]) + 2 * l2 * params
        return float(loss + l2 * (params**2).sum()), grad

    x0 = np.zeros(n + m) if start is None else start
    options = {"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-9}
    params = minimize(objective, x0, jac=True, method="L-BFGS-B", options=options).x
    params[:n] -= params[:n].mean()
    return params
