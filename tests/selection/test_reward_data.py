"""Reward-model data selection: uncertainty plus greedy D-optimal design (`app/selection/reward_data.py`)."""

import numpy as np
import pytest

from app.selection.reward_data import CandidatePool, information_weights, next_candidate, select_batch


def _features(m: int = 400, d: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Unequal directions: a few dominate, as real embeddings do.
    return rng.normal(size=(m, d)) * np.geomspace(3.0, 0.1, d)


def test_rank_one_updates_match_a_direct_inverse() -> None:
    x = _features()
    margins = np.random.default_rng(1).normal(0, 2, len(x))
    pool = CandidatePool.build(x, margins=margins, ridge=0.5)
    rng = np.random.default_rng(2)
    rows = select_batch(pool, 30, uniform_fraction=0.2, rng=rng)
    w = information_weights(margins, len(x))
    design = np.eye(x.shape[1]) * 0.5 + (x[rows] * w[rows, None]).T @ x[rows]
    inverse = np.linalg.inv(design)
    assert np.allclose(pool.inverse, inverse, atol=1e-9)
    assert np.allclose(pool.quadratic, np.einsum("md,de,me->m", x, inverse, x), atol=1e-9)
    assert pool.log_det() == pytest.approx(np.linalg.slogdet(design)[1])
    # Releasing a lease undoes its pick.
    pool.release(rows[-1])
    design -= w[rows[-1]] * np.outer(x[rows[-1]], x[rows[-1]])
    assert np.allclose(pool.inverse, np.linalg.inv(design), atol=1e-9)
    with pytest.raises(ValueError):
        pool.release(rows[-1])


def test_d_optimal_picks_grow_log_det_more_than_random() -> None:
    x = _features(m=1000, d=10)
    wins = 0
    for seed in range(5):
        active = CandidatePool.build(x)
        select_batch(active, 40, uniform_fraction=0.0, rng=np.random.default_rng(seed))
        random = CandidatePool.build(x)
        select_batch(random, 40, uniform_fraction=1.0, rng=np.random.default_rng(seed))
        wins += active.log_det() > random.log_det() + 1.0
    assert wins == 5


def test_small_margins_are_preferred_among_similar_features() -> None:
    x = np.ones((3, 2)) + np.array([[0.0, 0.0], [0.01, 0.0], [0.0, 0.01]])
    pool = CandidatePool.build(x, margins=np.array([4.0, 0.1, -3.0]))
    assert next_candidate(pool, uniform_fraction=0.0, rng=np.random.default_rng(0)) == 1


def test_uniform_share_taken_and_exhaustion() -> None:
    x = _features(m=2000, d=4)
    pool = CandidatePool.build(x)
    rng = np.random.default_rng(3)
    rows = select_batch(pool, 1000, uniform_fraction=0.25, rng=rng)
    assert len(set(rows)) == 1000 and pool.taken.sum() == 1000
    share = pool.uniform.sum() / 1000
    assert abs(share - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 1000)
    small = CandidatePool.build(x[:3], labelled=[0])
    assert select_batch(small, 10, rng=rng) and small.taken.all()
    assert next_candidate(small, rng=rng) is None


def test_labelled_rows_and_outside_pairs_count_in_the_design() -> None:
    x = _features(m=50, d=3)
    pool = CandidatePool.build(x, labelled=[0, 1], extra_features=x[2:4])
    design = np.eye(3) + 0.25 * x[:4].T @ x[:4]
    assert np.allclose(pool.inverse, np.linalg.inv(design))
    assert pool.taken[:2].all() and not pool.taken[2:].any()
    with pytest.raises(ValueError):
        CandidatePool.build(x, margins=np.zeros(3))


def test_picks_among_10000_candidates_are_distinct_and_about_one_in_ten_uniform() -> None:
    # Speed (5 ms at p99) is a benchmark target: `benchmarks/simulate.py --sections latency` measures it.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10_000, 64))
    pool = CandidatePool.build(x, margins=rng.normal(0, 1, 10_000))
    picks = [next_candidate(pool, rng=rng) for _ in range(500)]
    assert len(set(picks)) == 500 and all(p is not None and 0 <= p < 10_000 for p in picks)
    assert pool.taken.sum() == 500 and 25 <= pool.uniform.sum() <= 80
