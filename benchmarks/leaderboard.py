"""Leaderboard benchmark: synthetic battles with known strengths (100 systems, 1M battles, 20% ties).

    .venv/bin/python benchmarks/leaderboard.py [--systems 100] [--battles 1000000] [--rounds 1000]

Prints a Markdown table: time to aggregate, time for the ratings with bootstrap intervals, how well
the true strengths are recovered, interval coverage, and the gap to an independent scipy maximum
likelihood fit (L-BFGS on the same counts) in rating points.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.leaderboard.ratings import ELO_SCALE, PairCounts, bradley_terry_leaderboard, fit_bradley_terry


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", type=int, default=100)
    parser.add_argument("--battles", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--tie-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    strengths = rng.normal(0, 1, args.systems)
    a = rng.integers(0, args.systems, args.battles)
    b = (a + rng.integers(1, args.systems, args.battles)) % args.systems
    p = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
    tie = rng.random(args.battles) < args.tie_rate
    a_won = ~tie & (rng.random(args.battles) < p)
    b_won = ~tie & ~a_won

    started = time.perf_counter()
    key = a * args.systems + b
    size = args.systems * args.systems
    wins_a = np.bincount(key, weights=a_won, minlength=size).reshape(args.systems, args.systems)
    wins_b = np.bincount(key, weights=b_won, minlength=size).reshape(args.systems, args.systems)
    ties = np.bincount(key, weights=tie, minlength=size).reshape(args.systems, args.systems)
    counts = [
        PairCounts(f"s{i:03d}", f"s{j:03d}", wins_a[i, j], wins_b[i, j], ties[i, j])
        for i in range(args.systems)
        for j in range(args.systems)
        if wins_a[i, j] + wins_b[i, j] + ties[i, j] > 0
    ]
    aggregate_s = time.perf_counter() - started

    started = time.perf_counter()
    board = bradley_terry_leaderboard(counts, rounds=args.rounds, seed=args.seed)
    ratings_s = time.perf_counter() - started

    by_name = {r.system: r for r in board.ratings}
    truth = 1000 + ELO_SCALE * (strengths - strengths.mean())
    # Ties do not shrink the logit scale under "half a win", so compare after a least-squares scale fit.
    fitted = np.array([by_name[f"s{i:03d}"].score for i in range(args.systems)])
    scale = np.polyfit(truth - 1000, fitted - 1000, 1)[0]
    rmse = float(np.sqrt(np.mean((fitted - 1000 - scale * (truth - 1000)) ** 2)))
    spearman = float(np.corrcoef(np.argsort(np.argsort(truth)), np.argsort(np.argsort(fitted)))[0, 1])
    lower = np.array([by_name[f"s{i:03d}"].lower for i in range(args.systems)])
    upper = np.array([by_name[f"s{i:03d}"].upper for i in range(args.systems)])
    expected = 1000 + scale * (truth - 1000)
    coverage = float(np.mean((lower <= expected) & (expected <= upper)))

    # An independent fit: scipy's L-BFGS on the same counts, against the point scores above.
    names = sorted({c.a for c in counts} | {c.b for c in counts})
    where = {s: i for i, s in enumerate(names)}
    pairs = np.array([[where[c.a], where[c.b]] for c in counts])
    wins = np.array([[c.wins_a + c.ties / 2, c.wins_b + c.ties / 2] for c in counts])
    independent = 1000 + ELO_SCALE * fit_bradley_terry(pairs, wins, len(names))
    gap = float(np.abs(independent - np.array([by_name[s].score for s in names])).max())

    print(
        f"\n{args.systems} systems, {args.battles:,} battles, {args.tie_rate:.0%} ties, "
        f"{args.rounds} bootstrap rounds\n"
    )
    print("| metric | value |")
    print("|---|---|")
    print(f"| aggregate battles to pair counts | {aggregate_s:.2f} s |")
    print(f"| ratings + {args.rounds} bootstrap rounds (after aggregation) | {ratings_s:.2f} s |")
    print(f"| Spearman correlation with the true strengths | {spearman:.4f} |")
    print(f"| RMSE to the true strengths (rating points, after scale) | {rmse:.2f} |")
    print(f"| 95% intervals covering the truth | {coverage:.0%} |")
    print(f"| max gap to an independent scipy fit (rating points) | {gap:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
