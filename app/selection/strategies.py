"""Selection strategies by name, as a campaign stores them: `uniform` and `active`.

The assignment service calls a strategy with plain data: a `BTPosterior` for system ranking (arenas,
leaderboards), a `CandidatePool` for reward-model data. Both methods return indices (or None when
nothing may be handed out); mapping indices to systems or comparisons is the service's business.
"""

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from app.selection.ranking import BTPosterior, Criterion, next_pair, uniform_pair
from app.selection.reward_data import CandidatePool, next_candidate, uniform_candidate


class Strategy(Protocol):
    name: str

    def next_pair(
        self,
        posterior: BTPosterior,
        *,
        excluded_pairs: Iterable[tuple[int, int]] | np.ndarray | None = None,
        min_per_pair: int = 0,
        uniform_fraction: float = 0.1,
        rng: np.random.Generator,
        criterion: Criterion = "ranking",
    ) -> tuple[int, int] | None:
        """Systems (i < j) to compare next."""
        ...

    def next_candidate(
        self, pool: CandidatePool, *, uniform_fraction: float = 0.1, rng: np.random.Generator
    ) -> int | None:
        """Candidate pair (row of the pool) to label next; the pool records it as taken."""
        ...


class UniformStrategy:
    """Every allowed pair equally likely: the baseline, and unbiased by construction."""

    name = "uniform"

    def next_pair(
        self,
        posterior: BTPosterior,
        *,
        excluded_pairs: Iterable[tuple[int, int]] | np.ndarray | None = None,
        min_per_pair: int = 0,
        uniform_fraction: float = 0.1,
        rng: np.random.Generator,
        criterion: Criterion = "ranking",
    ) -> tuple[int, int] | None:
        if min_per_pair > 0:  # the minimum still comes first, uniformly among the pairs under it
            return next_pair(
                posterior,
                excluded_pairs=excluded_pairs,
                min_per_pair=min_per_pair,
                uniform_fraction=1.0,
                rng=rng,
            )
        return uniform_pair(posterior.n, excluded_pairs=excluded_pairs, rng=rng)

    def next_candidate(
        self, pool: CandidatePool, *, uniform_fraction: float = 0.1, rng: np.random.Generator
    ) -> int | None:
        return uniform_candidate(pool, rng=rng)


class ActiveStrategy:
    """Information-driven picks with a uniform share: `ranking.next_pair`, `reward_data.next_candidate`."""

    name = "active"

    def next_pair(
        self,
        posterior: BTPosterior,
        *,
        excluded_pairs: Iterable[tuple[int, int]] | np.ndarray | None = None,
        min_per_pair: int = 0,
        uniform_fraction: float = 0.1,
        rng: np.random.Generator,
        criterion: Criterion = "ranking",
    ) -> tuple[int, int] | None:
        return next_pair(
            posterior,
            excluded_pairs=excluded_pairs,
            min_per_pair=min_per_pair,
            uniform_fraction=uniform_fraction,
            rng=rng,
            criterion=criterion,
        )

    def next_candidate(
        self, pool: CandidatePool, *, uniform_fraction: float = 0.1, rng: np.random.Generator
    ) -> int | None:
        return next_candidate(pool, uniform_fraction=uniform_fraction, rng=rng)


STRATEGIES: dict[str, Strategy] = {"uniform": UniformStrategy(), "active": ActiveStrategy()}


def get_strategy(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown selection strategy {name!r}; use one of {', '.join(STRATEGIES)}") from None
