"""Which candidate pair to label next for reward-model data: the active reward model's uncertainty and
a D-optimal design on its features, with a uniform share kept for unbiased evaluation.

A Bradley-Terry reward model on features phi is a logistic regression on the difference
x = phi(prompt, a) - phi(prompt, b); the Fisher information a label on x adds is w x x^T with
w = p (1 - p), p = sigmoid(margin) the model's current prediction. Greedy locally D-optimal design
(Chaloner & Verdinelli 1995, section 3 for generalised linear models; Fedorov 1972 for the greedy
exchange) picks the candidate that most increases log det(A), A = ridge * I + sum over the labelled
of w x x^T. By the matrix determinant lemma the increase is log(1 + w x^T A^-1 x): a small predicted
margin (w near 1/4, the model is unsure) and a direction the labelled data have not covered
(x^T A^-1 x large) both raise it, so uncertainty sampling and D-optimality are one score.

After each pick A^-1 changes by a rank-one term (Sherman-Morrison) and every candidate's x^T A^-1 x
follows in O(m d) without recomputing A^-1 x for all of them: with u = A^-1 x*,
c = w* / (1 + w* x*^T u), A^-1 <- A^-1 - c u u^T and q_k <- q_k - c (x_k^T u)^2.
Features: whatever the active reward model exposes (its pooled embedding, length features); keep
d modest (up to a few hundred) and the columns on a comparable scale, since the ridge is isotropic.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class CandidatePool:
    """Candidate pairs (rows) with their features and the design state of what is labelled.

    `taken` marks rows already labelled or leased; `uniform` marks rows chosen by the uniform share
    (the rows to evaluate a model on without the selection's bias).
    """

    features: np.ndarray  # m x d, float64
    weights: np.ndarray  # m: expected information per label, p (1 - p); 1/4 without a model
    inverse: np.ndarray  # d x d: A^-1
    quadratic: np.ndarray  # m: x_k^T A^-1 x_k, kept current
    taken: np.ndarray  # m, bool
    uniform: np.ndarray  # m, bool

    @classmethod
    def build(
        cls,
        features: np.ndarray,
        *,
        margins: np.ndarray | None = None,
        labelled: Sequence[int] = (),
        extra_features: np.ndarray | None = None,
        extra_margins: np.ndarray | None = None,
        ridge: float = 1.0,
    ) -> "CandidatePool":
        """A pool over `features` (m x d); `margins` are the reward model's predicted
        r(a) - r(b) (None: no model yet). Rows in `labelled` and pairs labelled outside the pool
        (`extra_features`) count in the design already. O(m d^2) once."""
        x = np.ascontiguousarray(features, dtype=np.float64)
        if x.ndim != 2 or not len(x):
            raise ValueError("features must be a non-empty matrix (candidates x features)")
        if ridge <= 0:
            raise ValueError(f"ridge must be positive, got {ridge}")
        weights = information_weights(margins, len(x))
        design = np.eye(x.shape[1]) * ridge
        taken = np.zeros(len(x), dtype=bool)
        rows = np.asarray(list(labelled), dtype=np.int64)
        if len(rows):
            taken[rows] = True
            design += (x[rows] * weights[rows, None]).T @ x[rows]
        if extra_features is not None and len(extra_features):
            extra = np.asarray(extra_features, dtype=np.float64)
            extra_weights = information_weights(extra_margins, len(extra))
            design += (extra * extra_weights[:, None]).T @ extra
        inverse = np.linalg.inv(design)
        inverse = (inverse + inverse.T) / 2
        quadratic = np.einsum("md,md->m", x @ inverse, x)
        return cls(x, weights, inverse, quadratic, taken, np.zeros(len(x), dtype=bool))

    def scores(self) -> np.ndarray:
        """log det(A) gained by labelling each row next (-inf for rows taken)."""
        gain = np.log1p(self.weights * np.maximum(self.quadratic, 0.0))
        return np.where(self.taken, -np.inf, gain)

    def log_det(self) -> float:
        """log det(A) of the current design (higher: the labelled data pin the model down more)."""
        _, value = np.linalg.slogdet(self.inverse)
        return float(-value)

    def take(self, row: int, *, uniform: bool = False) -> None:
        """Record row as labelled (or leased): a rank-one update of A^-1 and of every quadratic form."""
        if self.taken[row]:
            raise ValueError(f"candidate {row} is already taken")
        self._rank_one(row, self.weights[row])
        self.taken[row] = True
        self.uniform[row] = uniform

    def release(self, row: int) -> None:
        """Undo `take` for a lease that expired without a label (a rank-one downdate)."""
        if not self.taken[row]:
            raise ValueError(f"candidate {row} is not taken")
        self._rank_one(row, -self.weights[row])
        self.taken[row] = False
        self.uniform[row] = False

    def _rank_one(self, row: int, weight: float) -> None:
        x = self.features[row]
        u = self.inverse @ x
        c = weight / (1.0 + weight * float(x @ u))
        self.inverse -= c * np.outer(u, u)
        projection = self.features @ u
        self.quadratic -= c * projection * projection


def information_weights(margins: np.ndarray | None, m: int) -> np.ndarray:
    """p (1 - p) at the predicted margin: the Fisher information of one Bradley-Terry label."""
    if margins is None:
        return np.full(m, 0.25)
    margins = np.asarray(margins, dtype=np.float64)
    if margins.shape != (m,):
        raise ValueError(f"need one margin per candidate ({m}), got shape {margins.shape}")
    p = 1.0 / (1.0 + np.exp(-margins))
    return p * (1.0 - p)


def next_candidate(
    pool: CandidatePool, *, uniform_fraction: float = 0.1, rng: np.random.Generator
) -> int | None:
    """Row to label next (recorded as taken), or None when every row is taken.

    With probability `uniform_fraction` a uniformly random free row (marked in `pool.uniform`),
    otherwise the row with the largest log-det gain. O(m d) per pick.
    """
    if not 0.0 <= uniform_fraction <= 1.0:
        raise ValueError(f"uniform_fraction must be in [0, 1], got {uniform_fraction}")
    if pool.taken.all():
        return None
    if uniform_fraction > 0 and rng.random() < uniform_fraction:
        return uniform_candidate(pool, rng=rng)
    scores = pool.scores()
    best = scores.max()
    ties = np.flatnonzero(scores >= best - 1e-12 * max(abs(best), 1e-300))
    row = int(ties[0] if len(ties) == 1 else rng.choice(ties))
    pool.take(row)
    return row


def uniform_candidate(pool: CandidatePool, *, rng: np.random.Generator) -> int | None:
    """A uniformly random free row (recorded as taken and as uniform), or None when none is free."""
    free = np.flatnonzero(~pool.taken)
    if not len(free):
        return None
    row = int(rng.choice(free))
    pool.take(row, uniform=True)
    return row


def select_batch(
    pool: CandidatePool, k: int, *, uniform_fraction: float = 0.1, rng: np.random.Generator
) -> list[int]:
    """Up to k rows at once (greedy: each pick accounts for the ones before it)."""
    rows = []
    for _ in range(k):
        row = next_candidate(pool, uniform_fraction=uniform_fraction, rng=rng)
        if row is None:
            break
        rows.append(row)
    return rows
