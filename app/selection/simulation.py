"""Simulated annotators for pair selection: oracles that know the true ranking, an annotator model on
top of them, and the loop that asks a selection strategy (the real one from `strategies.py`) for the
next pair, collects the vote and tracks Kendall's tau against the truth.

Oracles:
- `SyntheticOracle`: systems with known Bradley-Terry strengths; each vote is on a fresh item.
- `ScoresOracle`: any scores file (JSON Lines {"item", "system", "score"}, higher is better); a vote
  on (A, B) draws an item scored for both and prefers the higher score; the truth is the Bradley-Terry
  fit of the exact pairwise preference rates over all items (what infinitely many votes converge to).
- `PandaLMOracle`: the PandaLM test set's real human labels, three per item, revealed one annotator
  at a time (every item's first label before any second); a pair whose labels are spent is excluded,
  as a pair without open slots is in the assignment queue. The truth is the fit on all labels.

The annotator model (synthetic and scores oracles): a pool of annotators, each with its own noise
(temperature on the margin), a bias toward the side shown first (the side order is random, as on
the task page), a share of spammers who answer at random, and ties that are likelier the closer the
pair. Kendall's tau is measured on the batch Bradley-Terry fit of the votes (`BTPosterior.refit`),
the same estimate for every strategy.
"""

import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np

from app.leaderboard.ratings import fit_bradley_terry
from app.selection.ranking import BTPosterior, kendall_tau, pair_index, pair_position
from app.selection.strategies import get_strategy


class OracleError(ValueError):
    """A scores or data file that cannot serve as an oracle; the message says why."""


@dataclass(frozen=True)
class AnnotatorModel:
    """How simulated annotators turn a true margin (logits, i over j) into a vote."""

    annotators: int = 50
    spammer_fraction: float = 0.1
    noise: float = 1.0  # typical temperature: 1 = votes follow the Bradley-Terry probabilities
    noise_spread: float = 0.3  # log-normal spread of the temperatures across annotators
    position_bias: float = 0.3  # mean extra logits for the side shown first
    tie_rate: float = 0.1  # probability of a tie between equal systems; decays with the margin


class AnnotatorPool:
    """Concrete annotators drawn from an `AnnotatorModel`."""

    def __init__(self, model: AnnotatorModel, rng: np.random.Generator) -> None:
        self.model = model
        k = model.annotators
        self.temperature = model.noise * np.exp(rng.normal(0.0, model.noise_spread, k))
        self.bias = rng.normal(
            model.position_bias, model.position_bias / 2 if model.position_bias else 0.0, k
        )
        self.spammer = rng.random(k) < model.spammer_fraction

    def vote(self, margin: float, rng: np.random.Generator) -> float:
        """Outcome for i (1 i wins, 0 j wins, 0.5 tie) from a random annotator, random side order."""
        who = int(rng.integers(len(self.spammer)))
        if self.spammer[who]:
            return float(rng.integers(2))
        if rng.random() < self.model.tie_rate * math.exp(-abs(margin)):
            return 0.5
        shown_first = 1.0 if rng.random() < 0.5 else -1.0  # +1: i on the left
        logit = margin / self.temperature[who] + self.bias[who] * shown_first
        return float(rng.random() < 1.0 / (1.0 + math.exp(-logit)))


class Oracle(Protocol):
    systems: list[str]
    truth: np.ndarray  # true strengths; only their order matters

    def vote(self, i: int, j: int, rng: np.random.Generator) -> float | None:
        """Outcome for i of one more vote on (i, j), or None when the pair has no data left."""
        ...


@dataclass
class SyntheticOracle:
    """n systems with strengths drawn N(0, spread^2) logits (spread 1 is about 174 Elo points)."""

    truth: np.ndarray
    annotators: AnnotatorPool
    systems: list[str] = field(default_factory=list)

    @classmethod
    def draw(
        cls, *, n_systems: int, spread: float, annotators: AnnotatorModel, rng: np.random.Generator
    ) -> "SyntheticOracle":
        truth = rng.normal(0.0, spread, n_systems)
        return cls(truth, AnnotatorPool(annotators, rng), [f"system-{k}" for k in range(n_systems)])

    def vote(self, i: int, j: int, rng: np.random.Generator) -> float | None:
        return self.annotators.vote(float(self.truth[i] - self.truth[j]), rng)


@dataclass
class ScoreTable:
    """Scores as an items x systems matrix (NaN where an item has no score for a system)."""

    systems: list[str]
    items: list[str]
    scores: np.ndarray

    @classmethod
    def read(cls, path: Path) -> "ScoreTable":
        if not path.is_file():
            raise OracleError(f"no scores file {path}")
        rows: dict[tuple[str, str], float] = {}
        try:
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                        key = (str(row["item"]), str(row["system"]))
                        score = float(row["score"])
                    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                        raise OracleError(
                            f'{path} line {number}: expected {{"item", "system", "score"}} '
                            f"with a numeric score ({exc.__class__.__name__}: {exc})"
                        ) from exc
                    if not math.isfinite(score):
                        raise OracleError(f"{path} line {number}: the score must be a finite number")
                    rows[key] = score
        except UnicodeDecodeError as exc:
            raise OracleError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
        systems = sorted({s for _, s in rows})
        items = sorted({i for i, _ in rows})
        if len(systems) < 2:
            raise OracleError(f"{path}: need scores for at least 2 systems, found {len(systems)}")
        scores = np.full((len(items), len(systems)), np.nan)
        where_item = {x: k for k, x in enumerate(items)}
        where_system = {x: k for k, x in enumerate(systems)}
        for (item, system), score in rows.items():
            scores[where_item[item], where_system[system]] = score
        table = cls(systems, items, scores)
        present = ~np.isnan(scores)
        first, second = pair_index(len(systems))
        shared = (present[:, first] & present[:, second]).sum(0)
        if (shared == 0).any():
            k = int(np.flatnonzero(shared == 0)[0])
            raise OracleError(
                f"{path}: systems {systems[first[k]]} and {systems[second[k]]} share no item; every pair "
                "of systems needs at least one item scored for both"
            )
        return table

    def preference_rates(self) -> np.ndarray:
        """rate[i, j]: share of the items scored for both where i scores higher (equal: half)."""
        s = self.scores
        n = len(self.systems)
        rate = np.full((n, n), 0.5)
        for i in range(n):
            both = ~np.isnan(s[:, i])[:, None] & ~np.isnan(s)
            wins = np.where(both, (s[:, i, None] > s) + 0.5 * (s[:, i, None] == s), 0.0).sum(0)
            rate[i] = np.where(both.sum(0) > 0, wins / np.maximum(both.sum(0), 1), 0.5)
        return rate


def strengths_from_rates(rate: np.ndarray) -> np.ndarray:
    """Bradley-Terry strengths that best explain a matrix of pairwise win rates."""
    n = rate.shape[0]
    first, second = pair_index(n)
    wins = np.stack([rate[first, second], rate[second, first]], axis=1) * 100.0
    return fit_bradley_terry(np.stack([first, second], axis=1), wins, n, l2=1e-6)


@dataclass
class ScoresOracle:
    """A vote on (i, j) draws an item scored for both; the higher score wins, through the annotators.

    The clean margin is +-`clarity` logits (0 when the scores are equal), so an annotator at
    temperature 1 without bias agrees with the scores with probability sigmoid(clarity).
    """

    table: ScoreTable
    annotators: AnnotatorPool
    clarity: float = 2.0
    truth: np.ndarray = field(init=False)
    systems: list[str] = field(init=False)
    _rows: list[np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.systems = self.table.systems
        self.truth = strengths_from_rates(self.table.preference_rates())
        present = ~np.isnan(self.table.scores)
        first, second = pair_index(len(self.systems))
        self._rows = [
            np.flatnonzero(present[:, a] & present[:, b]) for a, b in zip(first, second, strict=True)
        ]

    def vote(self, i: int, j: int, rng: np.random.Generator) -> float | None:
        rows = self._rows[int(pair_position(len(self.systems), i, j))]
        row = int(rows[rng.integers(len(rows))])
        difference = self.table.scores[row, i] - self.table.scores[row, j]
        return self.annotators.vote(float(np.sign(difference)) * self.clarity, rng)


PANDALM_LABELS = ("annotator1", "annotator2", "annotator3")


def read_pandalm(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise OracleError(f"no PandaLM test set at {path}")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        for row in rows:
            row["cmp_key"].split("_", 1)[1]
            for key in PANDALM_LABELS:
                if row[key] not in (0, 1, 2):
                    raise ValueError(f"label {row[key]!r}")
    except (json.JSONDecodeError, KeyError, TypeError, IndexError, ValueError) as exc:
        raise OracleError(f"{path} is not the PandaLM test set layout: {exc}") from exc
    return rows


def _pandalm_outcome(label: int) -> float:
    """Outcome for the first system of `cmp_key` (response1): 1 better, 2 worse, 0 tie."""
    return {1: 1.0, 2: 0.0, 0: 0.5}[label]


class PandaLMOracle:
    """Real human votes on the PandaLM test set, each label used once, pairs excluded when spent."""

    def __init__(self, rows: Sequence[dict[str, object]], rng: np.random.Generator) -> None:
        pairs = [str(row["cmp_key"]).split("_", 1) for row in rows]
        self.systems = sorted({s for pair in pairs for s in pair})
        where = {s: k for k, s in enumerate(self.systems)}
        n = len(self.systems)
        wins = np.zeros((n, n))
        queues: dict[int, list[float]] = {}
        by_pair: dict[int, list[tuple[int, int]]] = {}  # pair -> (row, oriented: first system index)
        for number, ((a, b), row) in enumerate(zip(pairs, rows, strict=True)):
            i, j = where[a], where[b]
            for key in PANDALM_LABELS:
                outcome = _pandalm_outcome(int(row[key]))  # type: ignore[call-overload]
                wins[i, j] += outcome
                wins[j, i] += 1 - outcome
            by_pair.setdefault(int(pair_position(n, i, j)), []).append((number, i))
        games = wins + wins.T
        self.truth = strengths_from_rates(np.divide(wins, games, out=np.full((n, n), 0.5), where=games > 0))
        first = pair_index(n)[0]
        for position, members in by_pair.items():
            order = rng.permutation(len(members))
            low = int(first[position])
            queue: list[float] = []
            for key in PANDALM_LABELS:  # every item's first label, then every second, then every third
                for k in order:
                    number, oriented = members[k]
                    outcome = _pandalm_outcome(int(rows[number][key]))  # type: ignore[call-overload]
                    queue.append(outcome if oriented == low else 1.0 - outcome)
            queues[position] = queue[::-1]  # pop() from the end
        self._queues = queues

    def vote(self, i: int, j: int, rng: np.random.Generator) -> float | None:
        queue = self._queues.get(int(pair_position(len(self.systems), i, j)))
        if not queue:
            return None
        outcome = queue.pop()
        return outcome if i < j else 1.0 - outcome  # queues hold the outcome of the lower index

    def labels(self) -> int:
        return sum(len(q) for q in self._queues.values())


@dataclass(frozen=True)
class SelectionSettings:
    budget: int = 4000
    step: int = 100  # votes between two measurements of tau
    uniform_fraction: float = 0.1
    min_per_pair: int = 0
    criterion: str = "ranking"
    prior_var: float = 1.0
    refit_every: int = 0  # replace the filtered posterior by the batch fit every k votes (0: never)


def run_selection(
    oracle: Oracle, *, strategy: str, settings: SelectionSettings, rng: np.random.Generator
) -> np.ndarray:
    """Kendall's tau of the batch fit against the truth after every `step` votes (index 0: no vote)."""
    chooser = get_strategy(strategy)
    n = len(oracle.systems)
    posterior = BTPosterior.new(n, prior_var=settings.prior_var)
    excluded = np.zeros(n * (n - 1) // 2, dtype=bool)
    checkpoints = settings.budget // settings.step
    taus = np.zeros(checkpoints + 1)
    votes = 0
    while votes < settings.budget:
        pair = chooser.next_pair(
            posterior,
            excluded_pairs=excluded,
            min_per_pair=settings.min_per_pair,
            uniform_fraction=settings.uniform_fraction,
            rng=rng,
            criterion=settings.criterion,
        )
        if pair is None:  # every pair spent: the campaign is over, tau stays where it is
            taus[votes // settings.step + 1 :] = taus[votes // settings.step]
            break
        i, j = pair
        if rng.random() < 0.5:  # which system the strategy names first does not matter to the oracle
            i, j = j, i
        outcome = oracle.vote(i, j, rng)
        if outcome is None:
            excluded[pair_position(n, i, j)] = True
            continue
        posterior.update(i, j, outcome)
        votes += 1
        if settings.refit_every and votes % settings.refit_every == 0:
            posterior.refit()
        if votes % settings.step == 0:
            taus[votes // settings.step] = measured_tau(posterior, oracle.truth)
    return taus


def measured_tau(posterior: BTPosterior, truth: np.ndarray) -> float:
    fitted = BTPosterior(
        posterior.mean.copy(), posterior.cov.copy(), posterior.wins, posterior.votes, posterior.prior_var
    )
    fitted.refit()
    return kendall_tau(fitted.mean, truth)


def votes_to_target(taus: np.ndarray, step: int, target: float) -> float:
    """Votes after which tau stays at or above the target up to the budget; inf when it never does."""
    below = np.flatnonzero(taus < target)
    if len(below) == 0:
        return 0.0
    last = int(below[-1])
    return math.inf if last == len(taus) - 1 else float((last + 1) * step)


@dataclass
class StrategyResult:
    strategy: str
    taus: np.ndarray  # seeds x checkpoints
    votes_needed: np.ndarray  # per seed (inf: not reached within the budget)


def simulate_selection(
    make_oracle: Callable[[np.random.Generator], Oracle],
    *,
    strategies: Sequence[str],
    seeds: int,
    settings: SelectionSettings,
    target_tau: float,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> list[StrategyResult]:
    """Each seed draws one oracle (the same for every strategy) and runs every strategy on it.

    With jobs > 1 the runs go to that many processes (`make_oracle` must then pickle: a module-level
    function or a `functools.partial` of one).
    """
    tasks = [(seed, number) for seed in range(seeds) for number in range(len(strategies))]
    run = partial(_one_run, make_oracle, list(strategies), settings)
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as executor:
            curves = list(executor.map(run, tasks))
    else:
        curves = []
        for task in tasks:
            curves.append(run(task))
            if progress is not None and task[1] == len(strategies) - 1:
                progress(f"seed {task[0] + 1}/{seeds} done")
    results = []
    for number, strategy in enumerate(strategies):
        taus = np.array([c for (seed, k), c in zip(tasks, curves, strict=True) if k == number])
        needed = np.array([votes_to_target(c, settings.step, target_tau) for c in taus])
        results.append(StrategyResult(strategy, taus, needed))
    return results


def _one_run(
    make_oracle: Callable[[np.random.Generator], Oracle],
    strategies: list[str],
    settings: SelectionSettings,
    task: tuple[int, int],
) -> np.ndarray:
    seed, number = task
    oracle = make_oracle(np.random.default_rng([seed, 0]))
    rng = np.random.default_rng([seed, 1 + number])
    return run_selection(oracle, strategy=strategies[number], settings=settings, rng=rng)


def median_interval(values: np.ndarray, *, rounds: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Median with a 95% bootstrap interval over the seeds (inf stays inf: not reached)."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    medians = np.median(rng.choice(values, size=(rounds, len(values))), axis=1)
    # Quantiles that are data points, not interpolations: inf - inf would be NaN.
    low, high = np.quantile(medians, [0.025, 0.975], method="inverted_cdf")
    return float(np.median(values)), float(low), float(high)


def mean_interval(values: np.ndarray, *, rounds: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean over the first axis with a 95% bootstrap interval, per remaining column."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(len(values), size=(rounds, len(values)))
    means = values[draws].mean(1)
    low, high = np.percentile(means, [2.5, 97.5], axis=0)
    return values.mean(0), low, high  # type: ignore[return-value]


def summary(results: list[StrategyResult], *, settings: SelectionSettings, target_tau: float) -> dict:
    """Per strategy: votes to the target (median, 95% interval, how many seeds reached it)."""
    out: dict[str, object] = {
        "target_tau": target_tau,
        "budget": settings.budget,
        "seeds": len(results[0].votes_needed) if results else 0,
        "strategies": {},
    }
    for result in results:
        median, low, high = median_interval(result.votes_needed)
        reached = int(np.isfinite(result.votes_needed).sum())
        out["strategies"][result.strategy] = {  # type: ignore[index]
            "votes_to_target": {
                "median": _number(median),
                "low": _number(low),
                "high": _number(high),
                "reached": reached,
            },
            "final_tau": round(float(result.taus[:, -1].mean()), 4),
        }
    return out


def _number(x: float) -> float | None:
    """JSON has no infinity: not reached within the budget is null."""
    return None if not math.isfinite(x) else round(x, 1)


@dataclass(frozen=True)
class RewardDataSettings:
    """A linear Bradley-Terry reward model on d features, labels from the annotator model."""

    features: int = 16
    candidates: int = 5000
    held_out: int = 5000
    budget: int = 600
    step: int = 50  # labels between two refits of the model (and measurements)
    signal: float = 3.0  # typical |true margin| in logits
    uniform_fraction: float = 0.1
    l2: float = 1.0


def run_reward_data(
    *, strategy: str, settings: RewardDataSettings, annotators: AnnotatorModel, seed: int
) -> np.ndarray:
    """Held-out pairwise accuracy of the reward model after every `step` labels (index 0: 1/2)."""
    from app.routing.router import fit_logistic
    from app.selection.reward_data import CandidatePool

    world = np.random.default_rng([seed, 0])
    d = settings.features
    scales = np.geomspace(1.0, 0.05, d)  # a few directions carry most of the variation, as in embeddings
    truth = world.normal(size=d) / np.sqrt((scales**2).sum()) * settings.signal
    pool_x = world.normal(size=(settings.candidates, d)) * scales
    test_x = world.normal(size=(settings.held_out, d)) * scales
    test_y = test_x @ truth > 0
    people = AnnotatorPool(annotators, world)
    rng = np.random.default_rng([seed, 1])
    chooser = get_strategy(strategy)
    rows: list[int] = []
    labels: list[float] = []
    weights = np.zeros(d + 1)
    accuracy = [0.5]
    while len(rows) < settings.budget:
        margins = pool_x @ weights[1:] + weights[0] if rows else None
        pool = CandidatePool.build(pool_x, margins=margins, labelled=rows)
        for _ in range(settings.step):
            row = chooser.next_candidate(pool, uniform_fraction=settings.uniform_fraction, rng=rng)
            if row is None:
                break
            rows.append(row)
            labels.append(people.vote(float(pool_x[row] @ truth), rng))
        weights = fit_logistic(pool_x[rows], np.array(labels), l2=settings.l2)
        accuracy.append(float(((test_x @ weights[1:] + weights[0] > 0) == test_y).mean()))
    return np.array(accuracy)


def synthetic_factory(
    *, n_systems: int, spread: float, annotators: AnnotatorModel | None = None
) -> Callable[[np.random.Generator], SyntheticOracle]:
    """A picklable `make_oracle` for `simulate_selection` (jobs > 1)."""
    return partial(_draw_synthetic, n_systems, spread, annotators or AnnotatorModel())


def _draw_synthetic(
    n_systems: int, spread: float, annotators: AnnotatorModel, rng: np.random.Generator
) -> SyntheticOracle:
    return SyntheticOracle.draw(n_systems=n_systems, spread=spread, annotators=annotators, rng=rng)


def scores_factory(
    table: ScoreTable, *, annotators: AnnotatorModel | None = None, clarity: float = 2.0
) -> Callable[[np.random.Generator], ScoresOracle]:
    """A picklable `make_oracle` over a scores table, new annotators per seed."""
    return partial(_scores_oracle, table, annotators or AnnotatorModel(), clarity)


def _scores_oracle(
    table: ScoreTable, annotators: AnnotatorModel, clarity: float, rng: np.random.Generator
) -> ScoresOracle:
    return ScoresOracle(table, AnnotatorPool(annotators, rng), clarity=clarity)
