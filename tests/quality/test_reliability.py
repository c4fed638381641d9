"""Reliability models on real human labels (PandaLM) with simulated spammers, and on simulated crowds."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from app.quality.reliability import crowd_bt, dawid_skene

PANDALM = Path(__file__).resolve().parents[3] / "shared" / "data" / "pandalm_testset_v1.json"


@pytest.fixture(scope="module")
def pandalm() -> np.ndarray:
    """999 items x 3 human annotators; 0 tie, 1 first better, 2 second better."""
    if not PANDALM.exists():
        pytest.skip(f"{PANDALM} is not there (shared data sits beside the repository)")
    rows = json.loads(PANDALM.read_text())
    return np.array([[r["annotator1"], r["annotator2"], r["annotator3"]] for r in rows])


def _majority(labels: np.ndarray) -> np.ndarray:
    return np.array([np.bincount(row, minlength=3).argmax() for row in labels])


def _long(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item, coder, label) triples from an items x coders matrix."""
    n_items, n_coders = labels.shape
    return np.repeat(np.arange(n_items), n_coders), np.tile(np.arange(n_coders), n_items), labels.reshape(-1)


def test_dawid_skene_on_pandalm_weighs_humans_high_and_spammers_low(pandalm: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    n = len(pandalm)
    majority = _majority(pandalm)
    spammers = np.stack(
        [
            rng.integers(0, 3, n),  # uniform random
            rng.integers(0, 3, n),
            np.ones(n, dtype=int),  # always "first is better"
            np.array([0, 2, 1])[majority],  # adversary: swaps first and second
        ],
        axis=1,
    )
    fit = dawid_skene(*_long(np.concatenate([pandalm, spammers], axis=1)), n_classes=3)
    assert fit.converged
    humans, random_a, random_b, constant, adversary = (
        fit.weights[:3],
        fit.weights[3],
        fit.weights[4],
        fit.weights[5],
        fit.weights[6],
    )
    assert humans.min() > 0.85
    assert max(random_a, random_b, constant) < 0.05
    assert adversary == 0.0
    # The adversary's labels do depend on the truth (the spammer score sees that); a spammer's do not.
    assert fit.spammer_scores[6] > 0.9 and fit.spammer_scores[3:6].max() < 0.05
    assert fit.spammer_scores[:3].min() > 0.7
    # The humans agree well, so the inferred labels are the majority's.
    assert (fit.labels == majority).mean() > 0.98
    assert fit.confusion.shape == (7, 3, 3) and np.allclose(fit.confusion.sum(axis=2), 1)


def test_dawid_skene_recovers_simulated_confusion_matrices() -> None:
    rng = np.random.default_rng(3)
    n_items, n_classes = 2000, 3
    truth = rng.choice(n_classes, size=n_items, p=[0.5, 0.3, 0.2])
    accuracies = np.array([0.9, 0.75, 0.6, 0.0])  # right with this probability, else a uniform guess
    labels = np.empty((n_items, len(accuracies)), dtype=int)
    for j, accuracy in enumerate(accuracies):
        right = rng.random(n_items) < accuracy
        labels[:, j] = np.where(right, truth, rng.integers(0, n_classes, n_items))
    fit = dawid_skene(*_long(labels), n_classes=n_classes)
    diagonal = np.einsum("jkk->jk", fit.confusion).mean(axis=1)
    # Correct with probability a, else uniform: diagonal a + (1 - a) / 3.
    assert diagonal == pytest.approx(accuracies + (1 - accuracies) / 3, abs=0.04)
    assert fit.priors == pytest.approx([0.5, 0.3, 0.2], abs=0.03)
    assert np.all(np.diff(fit.weights) < 0) and fit.weights[-1] < 0.05
    assert (fit.labels == truth).mean() > (labels[:, 0] == truth).mean()


def test_dawid_skene_handles_sparse_and_empty_input() -> None:
    fit = dawid_skene([0, 0, 1], [0, 1, 0], [1, 1, 0], n_items=3, n_coders=3, n_classes=2)
    assert fit.posteriors.shape == (3, 2) and np.allclose(fit.posteriors[2], fit.priors)
    assert fit.weights[2] == 0.0 and fit.labels_per_coder.tolist() == [2, 1, 0]
    empty = dawid_skene([], [], [], n_classes=2)
    assert empty.weights.shape == (0,)
    with pytest.raises(ValueError, match="same length"):
        dawid_skene([0], [0, 1], [0])
    with pytest.raises(ValueError, match="out of range"):
        dawid_skene([0], [5], [0], n_coders=2)


def _pandalm_votes(pandalm: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    """Strict preferences of the 3 humans; item i's responses are candidates 2i and 2i + 1."""
    winners, losers, coders = [], [], []
    for i, row in enumerate(pandalm):
        for j, label in enumerate(row):
            if label in (1, 2):
                first_won = label == 1
                winners.append(2 * i if first_won else 2 * i + 1)
                losers.append(2 * i + 1 if first_won else 2 * i)
                coders.append(j)
    return winners, losers, coders


def test_crowd_bt_on_pandalm_weighs_humans_high_and_spammers_low(pandalm: np.ndarray) -> None:
    winners, losers, coders = _pandalm_votes(pandalm)
    rng = np.random.default_rng(0)
    n = len(pandalm)
    for coder in (3, 4):  # coin flips
        first = rng.random(n) < 0.5
        winners += np.where(first, 2 * np.arange(n), 2 * np.arange(n) + 1).tolist()
        losers += np.where(first, 2 * np.arange(n) + 1, 2 * np.arange(n)).tolist()
        coders += [coder] * n
    winners += (2 * np.arange(n)).tolist()  # always the first response
    losers += (2 * np.arange(n) + 1).tolist()
    coders += [5] * n
    fit = crowd_bt(winners, losers, coders)
    assert fit.converged
    assert fit.weights[:3].min() > 0.9
    assert fit.weights[3:].max() < 0.2
    assert fit.votes_per_coder.tolist()[3:] == [n, n, n]
    # The strengths order each item's pair as the human majority does.
    majority = _majority(pandalm)
    decided = majority > 0
    first_ahead = fit.strengths[0::2] > fit.strengths[1::2]
    assert (first_ahead[decided] == (majority[decided] == 1)).mean() > 0.97


def test_crowd_bt_orders_simulated_annotators_by_quality() -> None:
    rng = np.random.default_rng(1)
    n_items, per_item = 300, 4
    truth = rng.normal(0, 1.5, size=(n_items, per_item))
    pairs = [(a, b) for a in range(per_item) for b in range(a + 1, per_item)]
    follows = np.array([0.95, 0.85, 0.7, 0.5, 0.5, 0.0])  # 0.5: coin flips; 0: votes against
    winners, losers, coders = [], [], []
    for i in range(n_items):
        for a, b in pairs:
            for j in rng.choice(len(follows), size=3, replace=False):
                a_wins = rng.random() < expit(truth[i, a] - truth[i, b])
                if follows[j] == 0.5:
                    a_wins = rng.random() < 0.5
                elif rng.random() > follows[j]:
                    a_wins = not a_wins
                x, y = i * per_item + a, i * per_item + b
                winners.append(x if a_wins else y)
                losers.append(y if a_wins else x)
                coders.append(j)
    fit = crowd_bt(winners, losers, coders)
    assert fit.weights[0] > fit.weights[2] > fit.weights[3:5].max()
    assert fit.weights[1] > fit.weights[2]
    assert fit.weights[3:5].max() < 0.15 and fit.weights[5] == 0.0
    assert np.corrcoef(fit.strengths, truth.reshape(-1))[0, 1] > 0.5


def test_crowd_bt_input_checks() -> None:
    with pytest.raises(ValueError, match="must differ"):
        crowd_bt([0], [0], [0])
    with pytest.raises(ValueError, match="same length"):
        crowd_bt([0, 1], [1], [0])
    fit = crowd_bt([0], [1], [0], n_coders=2)
    # One vote barely moves eta off the prior; a coder without votes stays at the starting value's prior.
    assert 0.5 < fit.eta[0] < 0.9 and fit.weights.shape == (2,)
