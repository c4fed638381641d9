"""Annotator reliability models whose per-annotator weights exports and reward-model training can use.

- `dawid_skene`: categorical labels (Dawid and Skene 1979, "Maximum likelihood estimation of observer
  error-rates using the EM algorithm"): a latent true class per item, a confusion matrix per annotator,
  fitted by EM.
- `crowd_bt`: pairwise preferences (Chen, Bennett, Collins-Thompson and Horvitz 2013, "Pairwise
  ranking aggregation in a crowdsourced setting"): Bradley-Terry strengths per candidate and, per
  annotator, the probability eta of voting with the Bradley-Terry preference rather than against it.
  The paper updates online by moment matching; here both are fitted in batch by EM (MAP with a Beta
  prior on eta and a Gaussian prior on strengths).

Both take parallel integer index arrays, one entry per label or vote, and return weights in [0, 1]:
0 for an annotator whose labels carry no information about the truth (a spammer) or go against it.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, log_expit


def _indices(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.int64).reshape(-1)
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must be non-negative indices")
    return array


def _size(given: int | None, values: np.ndarray) -> int:
    needed = int(values.max()) + 1 if values.size else 0
    if given is None:
        return needed
    if given < needed:
        raise ValueError(f"an index {needed - 1} is out of range for a size of {given}")
    return given


@dataclass(frozen=True)
class DawidSkene:
    """A fitted Dawid-Skene model.

    `confusion[j, k, l]`: probability that annotator j gives label l to an item whose true class is k.
    `weights`: Cohen's kappa between the annotator and the latent truth, expected under the model
    ((accuracy - chance) / (1 - chance) with chance = sum_k prior_k * P(label k)), clipped to [0, 1].
    `spammer_scores`: Raykar and Yu (2012): mean squared distance between the rows of the confusion
    matrix, in [0, 1]; 0 when labels do not depend on the true class (an adversary scores high too).
    """

    posteriors: np.ndarray
    priors: np.ndarray
    confusion: np.ndarray
    weights: np.ndarray
    spammer_scores: np.ndarray
    labels_per_coder: np.ndarray
    log_likelihood: float
    iterations: int
    converged: bool

    @property
    def labels(self) -> np.ndarray:
        """The most probable true class of each item."""
        return self.posteriors.argmax(axis=1)


def dawid_skene(
    items: Any,
    coders: Any,
    labels: Any,
    *,
    n_items: int | None = None,
    n_coders: int | None = None,
    n_classes: int | None = None,
    smoothing: float = 0.5,
    max_iter: int = 200,
    tol: float = 1e-8,
) -> DawidSkene:
    """EM from per-item label shares; `smoothing` is a pseudo-count added to every confusion cell and
    class, so an annotator with few labels stays close to uninformative (weight near 0)."""
    item, coder, label = _indices(items, "items"), _indices(coders, "coders"), _indices(labels, "labels")
    if not item.size == coder.size == label.size:
        raise ValueError("items, coders and labels must have the same length")
    n_i, n_j, n_k = _size(n_items, item), _size(n_coders, coder), _size(n_classes, label)
    n_k = max(n_k, 1)
    # Items with the same labels from the same annotators have the same posterior at every step, so EM
    # runs once per distinct set of (annotator, label) cells, weighted by how many items share it: the
    # same fit, with three votes per item from a few dozen annotators far fewer rows per iteration.
    signature, share, entry, entry_cell = _signatures(item, coder * n_k + label, n_i)
    n_s = share.size
    counts = np.bincount(entry * n_k + entry_cell % n_k, minlength=n_s * n_k).reshape(n_s, n_k).astype(float)
    # Start from each item's label shares (soft majority vote); unlabelled items start uniform.
    posteriors = counts + (counts.sum(axis=1, keepdims=True) == 0) / n_k
    posteriors /= posteriors.sum(axis=1, keepdims=True)
    entry_share = share[entry].astype(float)
    previous = -np.inf
    log_likelihood = -np.inf
    converged = False
    iterations = 0
    priors = np.full(n_k, 1 / n_k)
    confusion = np.full((n_j, n_k, n_k), 1 / n_k)
    for iterations in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        # M step: class priors and confusion matrices from the current posteriors.
        priors = share @ posteriors + smoothing
        priors /= priors.sum()
        weighted = posteriors[entry] * entry_share[:, None]
        given_true = np.stack(
            [np.bincount(entry_cell, weights=weighted[:, k], minlength=n_j * n_k) for k in range(n_k)], axis=1
        )  # (coder * given label) x true class
        confusion = given_true.reshape(n_j, n_k, n_k).transpose(0, 2, 1) + smoothing
        confusion /= confusion.sum(axis=2, keepdims=True)
        # E step: posterior of each item's true class (a log-sum-exp by hand: scipy's costs more here).
        by_cell = np.log(confusion).transpose(0, 2, 1).reshape(n_j * n_k, n_k)[entry_cell]
        log_joint = np.log(priors)[None, :] + np.stack(
            [np.bincount(entry, weights=by_cell[:, k], minlength=n_s) for k in range(n_k)], axis=1
        )
        peak = log_joint.max(axis=1, keepdims=True)
        norm = peak + np.log(np.exp(log_joint - peak).sum(axis=1, keepdims=True))
        posteriors = np.exp(log_joint - norm)
        log_likelihood = float(share @ norm[:, 0])
        if abs(log_likelihood - previous) <= tol * max(1.0, abs(log_likelihood)):
            converged = True
            break
        previous = log_likelihood
    posteriors = posteriors[signature]
    return DawidSkene(
        posteriors=posteriors,
        priors=priors,
        confusion=confusion,
        weights=_kappa_weights(confusion, priors),
        spammer_scores=_spammer_scores(confusion),
        labels_per_coder=np.bincount(coder, minlength=n_j),
        log_likelihood=log_likelihood,
        iterations=iterations,
        converged=converged,
    )


def _signatures(item: np.ndarray, cell: np.ndarray, n_i: int) -> tuple[np.ndarray, ...]:
    """Groups items by their multiset of cells: (signature of each item, items per signature, then one
    entry per cell of each signature: its signature and its cell)."""
    order = np.lexsort((cell, item))
    item, cell = item[order], cell[order]
    per_item = np.bincount(item, minlength=n_i)
    signature = np.zeros(n_i, dtype=np.int64)
    entry_parts, cell_parts, share_parts = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)], []
    n_s = 0
    starts = np.concatenate([[0], np.cumsum(per_item)[:-1]]) if n_i else per_item
    for m in np.unique(per_item):
        members = np.flatnonzero(per_item == m)
        if m == 0:  # unlabelled items (n_items beyond the labelled ones): one signature, no cells
            unique, inverse = np.zeros((1, 0), dtype=np.int64), np.zeros(members.size, dtype=np.int64)
            share = np.array([members.size])
        else:
            cells = cell[starts[members][:, None] + np.arange(m)]
            unique, inverse, share = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
        signature[members] = n_s + inverse.reshape(-1)
        entry_parts.append(np.repeat(np.arange(n_s, n_s + len(unique)), m))
        cell_parts.append(unique.reshape(-1))
        share_parts.append(share)
        n_s += len(unique)
    share = np.concatenate(share_parts) if share_parts else np.empty(0, dtype=np.int64)
    return signature, share.astype(np.int64), np.concatenate(entry_parts), np.concatenate(cell_parts)


def _kappa_weights(confusion: np.ndarray, priors: np.ndarray) -> np.ndarray:
    accuracy = np.einsum("k,jkk->j", priors, confusion)
    given = np.einsum("k,jkl->jl", priors, confusion)  # how often each coder gives each label
    chance = given @ priors
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(chance < 1, (accuracy - chance) / (1 - chance), 0.0)
    return np.clip(kappa, 0.0, 1.0)


def _spammer_scores(confusion: np.ndarray) -> np.ndarray:
    n_k = confusion.shape[1]
    if n_k < 2:
        return np.zeros(confusion.shape[0])
    differences = confusion[:, :, None, :] - confusion[:, None, :, :]
    # K (K - 1) ordered pairs of rows, each at most 2 apart (squared) as probability vectors.
    return (differences**2).sum(axis=(1, 2, 3)) / (2 * n_k * (n_k - 1))


@dataclass(frozen=True)
class CrowdBT:
    """A fitted Crowd-BT model.

    `strengths`: Bradley-Terry log-strengths of the candidates. `eta[j]`: probability that annotator j
    votes with the Bradley-Terry preference (0.5: a coin flip). `weights`: max(0, 2 eta - 1).
    """

    strengths: np.ndarray
    eta: np.ndarray
    weights: np.ndarray
    votes_per_coder: np.ndarray
    log_likelihood: float
    iterations: int
    converged: bool


def crowd_bt(
    winners: Any,
    losers: Any,
    coders: Any,
    *,
    n_candidates: int | None = None,
    n_coders: int | None = None,
    eta_prior: tuple[float, float] = (2.0, 2.0),
    strength_precision: float = 0.1,
    initial_eta: float = 0.9,
    max_iter: int = 500,
    tol: float = 1e-8,
) -> CrowdBT:
    """EM for P(annotator j prefers w over l) = eta_j s(x_w - x_l) + (1 - eta_j) s(x_l - x_w).

    Strict preferences only (ties and both-bad say nothing about direction). `eta_prior` is a Beta(a, b)
    prior on each eta (the default shrinks annotators with few votes toward 0.5, so toward weight 0);
    `strength_precision` is the precision of a zero-mean Gaussian prior on the strengths, which keeps
    them finite for candidates that always win. The model is symmetric in (eta, x) -> (1 - eta, -x);
    starting every eta at `initial_eta` > 0.5 picks the reading where most annotators vote in good faith.
    """
    won, lost, who = _indices(winners, "winners"), _indices(losers, "losers"), _indices(coders, "coders")
    if not won.size == lost.size == who.size:
        raise ValueError("winners, losers and coders must have the same length")
    if np.any(won == lost):
        raise ValueError("a vote's winner and loser must differ")
    n_x = _size(n_candidates, np.concatenate([won, lost]))
    n_j = _size(n_coders, who)
    a, b = eta_prior
    votes = np.bincount(who, minlength=n_j).astype(float)
    eta = np.full(n_j, initial_eta)
    strengths = np.zeros(n_x)
    previous = -np.inf
    objective = -np.inf
    converged = False
    iterations = 0

    def map_objective(x: np.ndarray, eta: np.ndarray) -> float:
        d = x[won] - x[lost]
        e = np.clip(eta[who], 1e-12, 1 - 1e-12)
        marginal = np.logaddexp(np.log(e) + log_expit(d), np.log1p(-e) + log_expit(-d)).sum()
        clipped = np.clip(eta, 1e-12, 1 - 1e-12)
        prior = ((a - 1) * np.log(clipped) + (b - 1) * np.log1p(-clipped)).sum()
        return float(marginal + prior - strength_precision / 2 * (x @ x))

    for iterations in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        # E step: responsibility that each vote followed the Bradley-Terry preference.
        d = strengths[won] - strengths[lost]
        e = np.clip(eta[who], 1e-12, 1 - 1e-12)
        log_follow = np.log(e) + log_expit(d)
        log_flip = np.log1p(-e) + log_expit(-d)
        follow = np.exp(log_follow - np.logaddexp(log_follow, log_flip))
        # M step: eta in closed form (Beta MAP), strengths by weighted logistic regression.
        eta = (np.bincount(who, weights=follow, minlength=n_j) + a - 1) / np.maximum(votes + a + b - 2, 1e-12)
        eta = np.clip(eta, 0.0, 1.0)
        strengths = _fit_strengths(strengths, won, lost, follow, n_x, strength_precision)
        objective = map_objective(strengths, eta)
        if abs(objective - previous) <= tol * max(1.0, abs(objective)):
            converged = True
            break
        previous = objective
    return CrowdBT(
        strengths=strengths,
        eta=eta,
        weights=np.clip(2 * eta - 1, 0.0, 1.0),
        votes_per_coder=votes.astype(np.int64),
        log_likelihood=objective,
        iterations=iterations,
        converged=converged,
    )


def _fit_strengths(
    start: np.ndarray, won: np.ndarray, lost: np.ndarray, follow: np.ndarray, n: int, precision: float
) -> np.ndarray:
    """Maximises sum follow log s(x_w - x_l) + (1 - follow) log s(x_l - x_w) - precision/2 |x|^2."""

    def loss(x: np.ndarray) -> tuple[float, np.ndarray]:
        d = x[won] - x[lost]
        value = -(follow * log_expit(d) + (1 - follow) * log_expit(-d)).sum() + precision / 2 * (x @ x)
        slope = expit(d) - follow  # d(loss)/dd
        grad = np.bincount(won, weights=slope, minlength=n) - np.bincount(lost, weights=slope, minlength=n)
        return float(value), grad + precision * x

    if n == 0:
        return start
    # Imported here: scipy.optimize is ~25 MB, and a release's Dawid-Skene fit never needs it.
    from scipy.optimize import minimize

    return minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 15, "gtol": 1e-8}).x
