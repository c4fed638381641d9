"""Leaderboard benchmark: synthetic battles with known strengths and a length effect (100 systems, 1M
battles, 20% ties).

    .venv/bin/python benchmarks/leaderboard.py [--systems 100] [--battles 1000000] [--rounds 1000]
        [--style-rounds 100] [--length-effect 0.4] [--repeat 3]

Each system has a true strength and, independently, a verbosity and a taste for markdown. A battle's
logit is the strength gap plus true effects of the standardised style differences (longer answers
win more often, whatever the system). Ties are drawn so that a's expected score (ties as half a win)
is exactly sigmoid(logit): close battles tie more often, and the half-win model the leaderboard fits
is the true one, so fitted strengths and coefficients compare with the truth on the same scale.

Prints a Markdown table: time to aggregate, time for the plain ratings with 1,000 bootstrap rounds and
for style control with 100 rounds (median and best of --repeat runs), recovery of the true strengths
by both fits (the plain one is biased by length), the recovered coefficients, interval coverage, and
the gaps to independent scipy L-BFGS fits of the same likelihoods.

BLAS runs on one thread unless OPENBLAS_NUM_THREADS is set: on two cores busy with other work,
OpenBLAS's threads wait on each other (a 104 x 104 solve took 0.4 s instead of 0.1 ms).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.leaderboard.ratings import (
    ELO_SCALE,
    Leaderboard,
    PairCounts,
    bradley_terry_leaderboard,
    fit_bradley_terry,
)
from app.leaderboard.style_control import (
    StyleBattles,
    fit_style_lbfgs,
    style_controlled_leaderboard,
)

FEATURES = ("length", "headers", "lists", "bold")
T = TypeVar("T")


def timed(repeat: int, work: Callable[[], T]) -> tuple[T, list[float]]:
    seconds, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    assert result is not None
    return result, seconds


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(np.argsort(np.argsort(x)), np.argsort(np.argsort(y)))[0, 1])


def simulate(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, StyleBattles]:
    """True strengths, true coefficients, and the battles."""
    rng = np.random.default_rng(args.seed)
    n, count = args.systems, args.battles
    strengths = rng.normal(0, 1, n)
    strengths -= strengths.mean()
    verbosity = rng.normal(0, 0.5, n)  # log-length offset, independent of strength
    markdown = rng.gamma(2.0, 1.0, (n, 3))  # mean headers, list items, bold spans per answer
    a = rng.integers(0, n, count)
    b = (a + rng.integers(1, n, count)) % n
    tokens_a = np.exp(5.5 + verbosity[a] + rng.normal(0, 0.4, count))
    tokens_b = np.exp(5.5 + verbosity[b] + rng.normal(0, 0.4, count))
    raw = [(tokens_a - tokens_b) / (tokens_a + tokens_b)]
    for k in range(3):
        ca, cb = rng.poisson(markdown[a, k]), rng.poisson(markdown[b, k])
        total = ca + cb
        raw.append(np.divide(ca - cb, total, out=np.zeros(count), where=total > 0))
    # The normalisation the leaderboard uses: (a - b) / (a + b), standardised over the battles.
    features = np.column_stack(raw)
    features = (features - features.mean(0)) / features.std(0)
    coefficients = np.array([args.length_effect, 0.1, 0.05, 0.0])
    p = 1 / (1 + np.exp(-(strengths[a] - strengths[b] + features @ coefficients)))
    # P(tie) = k p (1 - p) and P(a wins) = p - P(tie) / 2: the expected score is p, the tie rate k E[p(1-p)].
    spread = p * (1 - p)
    k = args.tie_rate / spread.mean()
    if k > 2:
        raise SystemExit(f"a tie rate of {args.tie_rate} is too high for these strengths (k = {k:.2f} > 2)")
    draw = rng.random(count)
    tie = draw < k * spread
    a_won = ~tie & (draw < k * spread + p - k * spread / 2)
    outcome = np.where(tie, 0.5, a_won.astype(float))
    names = [f"s{i:03d}" for i in range(n)]
    return strengths, coefficients, StyleBattles(names, list(FEATURES), a, b, outcome, features)


def aggregate(data: StyleBattles) -> list[PairCounts]:
    """Battles to counts per (system a, system b, outcome), as the SQL GROUP BY does."""
    n = len(data.systems)
    key = data.first * n + data.second
    size = n * n
    cells = [
        np.bincount(key, weights=data.outcome == value, minlength=size).reshape(n, n)
        for value in (1.0, 0.0, 0.5)
    ]
    wins_a, wins_b, ties = cells
    return [
        PairCounts(data.systems[i], data.systems[j], wins_a[i, j], wins_b[i, j], ties[i, j])
        for i in range(n)
        for j in range(n)
        if wins_a[i, j] + wins_b[i, j] + ties[i, j] > 0
    ]


def recovery(board: Leaderboard, names: list[str], truth: np.ndarray) -> tuple[float, float, float]:
    """Spearman correlation, RMSE (rating points) and 95% interval coverage against the truth."""
    by_name = {r.system: r for r in board.ratings}
    fitted = np.array([by_name[s].score for s in names])
    lower = np.array([by_name[s].lower for s in names])
    upper = np.array([by_name[s].upper for s in names])
    true_elo = 1000 + ELO_SCALE * truth
    rmse = float(np.sqrt(np.mean((fitted - true_elo) ** 2)))
    coverage = float(np.mean((lower <= true_elo) & (true_elo <= upper)))
    return spearman(truth, fitted), rmse, coverage


def seconds_text(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.2f} s (best {min(seconds):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", type=int, default=100)
    parser.add_argument("--battles", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1000, help="bootstrap rounds, plain fit")
    parser.add_argument("--style-rounds", type=int, default=100, help="bootstrap rounds, style control")
    parser.add_argument("--tie-rate", type=float, default=0.2)
    parser.add_argument("--length-effect", type=float, default=0.4, help="true coefficient (per SD)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each fit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    truth, true_coefficients, data = simulate(args)
    names = data.systems

    counts, aggregate_s = timed(args.repeat, lambda: aggregate(data))
    plain, plain_s = timed(
        args.repeat, lambda: bradley_terry_leaderboard(counts, rounds=args.rounds, seed=args.seed)
    )
    styled, style_s = timed(
        args.repeat, lambda: style_controlled_leaderboard(data, rounds=args.style_rounds, seed=args.seed)
    )

    # Independent fits of the same likelihoods: scipy's L-BFGS, on the counts and on the battles.
    where = {s: i for i, s in enumerate(names)}
    pairs = np.array([[where[c.a], where[c.b]] for c in counts])
    wins = np.array([[c.wins_a + c.ties / 2, c.wins_b + c.ties / 2] for c in counts])
    independent = 1000 + ELO_SCALE * fit_bradley_terry(pairs, wins, len(names))
    plain_by_name = {r.system: r.score for r in plain.ratings}
    plain_gap = float(np.abs(independent - np.array([plain_by_name[s] for s in names])).max())
    reference = fit_style_lbfgs(data)
    styled_by_name = {r.system: r.score for r in styled.ratings}
    styled_scores = np.array([styled_by_name[s] for s in names])
    style_gap = float(np.abs(1000 + ELO_SCALE * reference[: len(names)] - styled_scores).max())
    fitted_coefficients = np.array([styled.style_coefficients[f] for f in FEATURES])
    coefficient_gap = float(np.abs(reference[len(names) :] - fitted_coefficients).max())

    plain_rho, plain_rmse, plain_cover = recovery(plain, names, truth)
    style_rho, style_rmse, style_cover = recovery(styled, names, truth)
    others = ", ".join(
        f"{f} {fitted:.3f} ({true:.2f})"
        for f, fitted, true in zip(FEATURES[1:], fitted_coefficients[1:], true_coefficients[1:], strict=True)
    )
    print(
        f"\n{args.systems} systems, {args.battles:,} battles, {np.mean(data.outcome == 0.5):.1%} ties, "
        f"length effect {args.length_effect}, {args.rounds} plain / {args.style_rounds} style rounds, "
        f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, {args.repeat} timed runs\n"
    )
    rows = [
        ("aggregate battles to pair counts", seconds_text(aggregate_s)),
        (
            f"plain ratings + {args.rounds} bootstrap rounds (after aggregation)",
            f"{seconds_text(plain_s)}, target 2 s",
        ),
        (
            f"style control: point fit + {args.style_rounds} bootstrap rounds on {args.battles:,} battles",
            f"{seconds_text(style_s)}, target 10 s",
        ),
        ("Spearman with the true strengths: plain / style-controlled", f"{plain_rho:.4f} / {style_rho:.4f}"),
        (
            "RMSE to the true strengths (rating points): plain / style-controlled",
            f"{plain_rmse:.2f} / {style_rmse:.2f}",
        ),
        (
            "95% intervals covering the truth: plain / style-controlled",
            f"{plain_cover:.0%} / {style_cover:.0%}",
        ),
        ("length coefficient: fitted (true)", f"{fitted_coefficients[0]:.3f} ({true_coefficients[0]:.2f})"),
        ("other coefficients: fitted (true)", others),
        ("plain: max gap to an independent scipy L-BFGS fit (rating points)", f"{plain_gap:.4f}"),
        (
            "style: max gap to scipy L-BFGS, ratings (rating points) / coefficients",
            f"{style_gap:.4f} / {coefficient_gap:.1e}",
        ),
    ]
    print("| metric | value |")
    print("|---|---|")
    for metric, value in rows:
        print(f"| {metric} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
