"""Active selection and hybrid routing on simulated annotators, through the real code.

Sections (all by default; pick with --sections):
  latency    p50/p99 of one pick: 100 systems (4,950 pairs), 10,000 reward-data candidates
  synthetic  votes to Kendall's tau >= target, uniform vs active, on known Bradley-Terry strengths
  grid       the same over numbers of systems and spreads of strengths
  wmt        a real scores file as the oracle: WMT 2021 MQM (TED, en-de), 14 systems, per-segment scores
  pandalm    PandaLM's real human labels as the oracle (5 systems, 3 labels per item)
  routing    PandaLM: human budget vs agreement with the held-out human consensus, four ways of routing
  reward     reward-model data: held-out accuracy of a linear reward model, uniform vs active labels

Prints Markdown tables and writes PNG plots (matplotlib) under --out.

    .venv/bin/python benchmarks/simulate.py --out var/simulate
    .venv/bin/python benchmarks/simulate.py --sections latency,routing --seeds 20
"""

import argparse
import csv
import json
import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

# One BLAS thread, as in a web worker: on a busy machine a second BLAS thread waits for a core, and a
# 10,000 x 64 matrix-vector product goes from 0.15 ms to 8 ms (p99 100 ms for a 100 x 100 solve).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.routing.simulation import (  # noqa: E402
    METHODS,
    RoutingSettings,
    load_pandalm_routing,
    routing_table,
    simulate_routing,
)
from app.selection.ranking import BTPosterior, next_pair  # noqa: E402
from app.selection.reward_data import CandidatePool, next_candidate  # noqa: E402
from app.selection.simulation import (  # noqa: E402
    AnnotatorModel,
    PandaLMOracle,
    RewardDataSettings,
    ScoreTable,
    SelectionSettings,
    StrategyResult,
    mean_interval,
    median_interval,
    read_pandalm,
    run_reward_data,
    scores_factory,
    simulate_selection,
    synthetic_factory,
)

DATA = ROOT.parent / "shared" / "data"
SECTIONS = ("latency", "synthetic", "grid", "wmt", "pandalm", "routing", "reward")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def say(text: str = "") -> None:
    print(text, flush=True)


def fmt_votes(x: float) -> str:
    return "not reached" if not math.isfinite(x) else f"{x:,.0f}"


# --- latency -----------------------------------------------------------------------------------------


def latency(picks: int) -> None:
    rng = np.random.default_rng(0)
    rows = []
    posterior = BTPosterior.new(100)
    truth = rng.normal(0, 0.5, 100)
    for _ in range(5000):
        i, j = rng.choice(100, 2, replace=False)
        posterior.update(int(i), int(j), float(rng.random() < 1 / (1 + np.exp(truth[j] - truth[i]))))
    leased = [tuple(int(x) for x in rng.choice(100, 2, replace=False)) for _ in range(64)]
    for criterion in ("ranking", "information", "interval"):
        times = []
        for _ in range(picks):
            start = time.perf_counter()
            next_pair(posterior, excluded_pairs=leased, rng=rng, criterion=criterion)  # type: ignore[arg-type]
            times.append(time.perf_counter() - start)
        rows.append([f"next_pair, 100 systems, 64 leased pairs excluded, `{criterion}`", *_ms(times)])
    times = []
    for _ in range(picks):
        i, j = rng.choice(100, 2, replace=False)
        start = time.perf_counter()
        posterior.update(int(i), int(j), 1.0)
        times.append(time.perf_counter() - start)
    rows.append(["posterior update (one vote), 100 systems", *_ms(times)])
    start = time.perf_counter()
    posterior.refit()
    rows.append(
        ["batch Laplace refit, 100 systems (once)", f"{1000 * (time.perf_counter() - start):.2f}", ""]
    )
    for d in (64, 256):
        x = rng.normal(size=(10_000, d))
        start = time.perf_counter()
        pool = CandidatePool.build(x, margins=rng.normal(0, 1, 10_000))
        build = time.perf_counter() - start
        times = []
        for _ in range(picks):
            start = time.perf_counter()
            next_candidate(pool, rng=rng)
            times.append(time.perf_counter() - start)
        rows.append([f"next_candidate, 10,000 candidates, d = {d}", *_ms(times)])
        rows.append(
            [f"CandidatePool.build, 10,000 candidates, d = {d} (once per model)", f"{1000 * build:.1f}", ""]
        )
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    say(f"### Pick latency (target: p99 <= 5 ms; OPENBLAS_NUM_THREADS={threads}, {picks} picks each)\n")
    say(table(["operation", "p50 (ms)", "p99 (ms)"], rows))
    say()


def _ms(times: list[float]) -> list[str]:
    p50, p99 = np.percentile(times, [50, 99]) * 1000
    return [f"{p50:.3f}", f"{p99:.3f}"]


# --- selection ---------------------------------------------------------------------------------------


def selection_report(
    name: str,
    results: list[StrategyResult],
    settings: SelectionSettings,
    target: float,
    out: Path,
    title: str,
) -> dict[str, float]:
    """Votes-to-target tables, curve table, plot; returns the ratios (active / uniform)."""
    by = {r.strategy: r for r in results}
    uniform, active = by["uniform"], by["active"]
    seeds = len(uniform.votes_needed)
    rows = []
    for r in (uniform, active):
        median, low, high = median_interval(r.votes_needed)
        reached = int(np.isfinite(r.votes_needed).sum())
        rows.append(
            [r.strategy, fmt_votes(median), f"{fmt_votes(low)} - {fmt_votes(high)}", f"{reached}/{seeds}"]
        )
    ratio = _median_ratio(active.votes_needed, uniform.votes_needed, settings.budget)
    say(
        f"Votes until Kendall's tau reaches {target} and stays there "
        f"(budget {settings.budget:,}, {seeds} seeds):\n"
    )
    say(table(["strategy", "median votes", "95% interval of the median", "seeds reaching it"], rows))
    censored = "; runs that never reach it counted at the budget" if ratio[3] else ""
    say(
        f"\nactive / uniform, ratio of these medians: **{_ratio(ratio[0])}** (95% interval "
        f"{_ratio(ratio[1])} - {_ratio(ratio[2])}{censored}; target <= 0.5)\n"
    )
    crossing = _crossing_ratio(active.taus, uniform.taus, settings.step, target)
    say(
        f"Votes at which the mean tau over seeds first reaches {target} (a steadier measure): uniform "
        f"{fmt_votes(crossing[3])}, active {fmt_votes(crossing[4])}; ratio **{_ratio(crossing[0])}** "
        f"(95% interval {_ratio(crossing[1])} - {_ratio(crossing[2])})\n"
    )
    checkpoints = np.arange(uniform.taus.shape[1]) * settings.step
    diff = active.taus - uniform.taus
    d_mean, d_low, d_high = mean_interval(diff)
    worse = [int(checkpoints[k]) for k in range(1, len(checkpoints)) if d_high[k] < 0]
    u_mean, u_low, u_high = mean_interval(uniform.taus)
    a_mean, a_low, a_high = mean_interval(active.taus)
    curve = []
    shown = np.unique(np.linspace(1, len(checkpoints) - 1, 12).round().astype(int))
    for k in shown:
        curve.append(
            [
                f"{checkpoints[k]:,}",
                f"{u_mean[k]:.3f} [{u_low[k]:.3f}, {u_high[k]:.3f}]",
                f"{a_mean[k]:.3f} [{a_low[k]:.3f}, {a_high[k]:.3f}]",
                f"{d_mean[k]:+.3f} [{d_low[k]:+.3f}, {d_high[k]:+.3f}]",
            ]
        )
    say("Kendall's tau by votes (mean over seeds, 95% bootstrap interval):\n")
    say(table(["votes", "uniform", "active", "active - uniform (paired)"], curve))
    verdict = "never" if not worse else f"at {len(worse)} budgets ({', '.join(f'{w:,}' for w in worse[:6])})"
    say(
        f"\nactive significantly worse than uniform (paired 95% interval below 0, at any of the "
        f"{len(checkpoints) - 1} measured budgets): {verdict}\n"
    )
    _plot_curves(  # from the first measurement on: tau is 0 before any vote
        out / f"selection_{name}.png",
        checkpoints[1:],
        {"uniform": (u_mean[1:], u_low[1:], u_high[1:]), "active": (a_mean[1:], a_low[1:], a_high[1:])},
        title=title,
        xlabel="votes",
        ylabel="Kendall's tau vs the true ranking",
        hline=target,
    )
    return {"ratio": ratio[0], "crossing_ratio": crossing[0], "worse_budgets": len(worse)}


def _ratio(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.2f}"


def _bootstrap_ratio(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    active: np.ndarray,
    uniform: np.ndarray,
    rounds: int = 2000,
) -> tuple[float, float, float]:
    """Point and 95% paired bootstrap interval (seeds resampled together) of a ratio statistic."""
    rng = np.random.default_rng(0)
    point = statistic(active, uniform)
    draws = rng.integers(len(active), size=(rounds, len(active)))
    values = np.array([statistic(active[d], uniform[d]) for d in draws])
    values = values[np.isfinite(values)]
    if not len(values):
        return point, math.nan, math.nan
    low, high = np.quantile(values, [0.025, 0.975], method="inverted_cdf")
    return point, float(low), float(high)


def _median_ratio(active: np.ndarray, uniform: np.ndarray, budget: int) -> tuple[float, float, float, bool]:
    """Ratio of the median votes-to-target; runs that never got there count as the budget (so with
    uniform censored more often it is an upper bound on the true ratio)."""
    censored = bool((~np.isfinite(active)).any() or (~np.isfinite(uniform)).any())
    a = np.where(np.isfinite(active), active, budget)
    u = np.where(np.isfinite(uniform), uniform, budget)
    return (*_bootstrap_ratio(lambda x, y: np.median(x) / np.median(y), a, u), censored)


def _crossing(taus: np.ndarray, step: int, target: float) -> float:
    """Votes at which the mean curve first reaches the target (linear between measurements)."""
    mean = taus.mean(0)
    above = np.flatnonzero(mean >= target)
    if not len(above):
        return math.inf
    k = int(above[0])
    if k == 0:
        return 0.0
    share = (target - mean[k - 1]) / (mean[k] - mean[k - 1])
    return float(step * (k - 1 + share))


def _crossing_ratio(
    active: np.ndarray, uniform: np.ndarray, step: int, target: float
) -> tuple[float, float, float, float, float]:
    def ratio(a: np.ndarray, u: np.ndarray) -> float:
        crossed_a, crossed_u = _crossing(a, step, target), _crossing(u, step, target)
        if not math.isfinite(crossed_u):  # no ratio when uniform's mean curve never gets there
            return math.nan
        return crossed_a / crossed_u

    point, low, high = _bootstrap_ratio(ratio, active, uniform)
    return point, low, high, _crossing(uniform, step, target), _crossing(active, step, target)


def synthetic(args: argparse.Namespace, out: Path) -> None:
    n, spread = 20, 0.5
    settings = SelectionSettings(budget=30_000, step=500, min_per_pair=args.min_per_pair)
    say(f"### Synthetic: {n} systems, strengths N(0, {spread}^2) logits, default annotators\n")
    say(f"Annotators: {AnnotatorModel()}\n")
    results = simulate_selection(
        synthetic_factory(n_systems=n, spread=spread),
        strategies=["uniform", "active"],
        seeds=args.synthetic_seeds,
        settings=settings,
        target_tau=args.target_tau,
        jobs=args.jobs,
    )
    selection_report("synthetic", results, settings, args.target_tau, out, f"{n} systems, spread {spread}")


def grid(args: argparse.Namespace, out: Path) -> None:
    say(f"### Grid: systems x spread of strengths ({args.grid_seeds} seeds each, default annotators)\n")
    budgets = {0.5: 2_000, 1.0: 600, 2.0: 300}  # votes per system pair: closer systems need more
    rows = []
    for n in (10, 20, 50):
        for spread in (0.5, 1.0, 2.0):
            pairs = n * (n - 1) // 2
            budget = min(budgets[spread] * pairs // 10, 60_000)
            budget = max(budget, 3_000)
            settings = SelectionSettings(budget=budget, step=budget // 60, min_per_pair=args.min_per_pair)
            results = simulate_selection(
                synthetic_factory(n_systems=n, spread=spread),
                strategies=["uniform", "active"],
                seeds=args.grid_seeds,
                settings=settings,
                target_tau=args.target_tau,
                jobs=args.jobs,
            )
            by = {r.strategy: r for r in results}
            u = median_interval(by["uniform"].votes_needed)[0]
            a = median_interval(by["active"].votes_needed)[0]
            ratio, low, high, _ = _median_ratio(by["active"].votes_needed, by["uniform"].votes_needed, budget)
            crossing = _crossing_ratio(by["active"].taus, by["uniform"].taus, settings.step, args.target_tau)
            diff = by["active"].taus - by["uniform"].taus
            worse = int((mean_interval(diff)[2][1:] < 0).sum())
            rows.append(
                [
                    str(n),
                    f"{spread}",
                    f"{budget:,}",
                    f"{fmt_votes(u)} ({_reached(by['uniform'])}/{args.grid_seeds})",
                    f"{fmt_votes(a)} ({_reached(by['active'])}/{args.grid_seeds})",
                    f"{_ratio(ratio)} [{_ratio(low)}, {_ratio(high)}]",
                    f"{_ratio(crossing[0])} [{_ratio(crossing[1])}, {_ratio(crossing[2])}]",
                    str(worse),
                ]
            )
            say(
                f"  n={n} spread={spread}: {rows[-1][3:]}",
            ) if args.verbose else None
    say(
        table(
            [
                "systems",
                "spread (logits)",
                "budget",
                "uniform: median votes (seeds reaching)",
                "active",
                "active / uniform, medians [95%]",
                "active / uniform, mean-curve crossing [95%]",
                "budgets where active is significantly worse",
            ],
            rows,
        )
    )
    say()


def _reached(result: StrategyResult) -> int:
    return int(np.isfinite(result.votes_needed).sum())


def wmt_scores(out: Path) -> Path:
    """WMT 2021 MQM (TED talks, en-de) as a scores file: one score per (segment, system), minus the
    MQM penalty with the standard weights (Freitag et al. 2021: major 5, minor 1, minor punctuation
    0.1, non-translation 25)."""
    source = DATA / "wmt_mqm_ted_ende.tsv"
    penalty: dict[tuple[str, str], float] = defaultdict(float)
    with source.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            key = (f"{row['doc']}#{row['seg_id']}", row["system"])
            severity, category = row["severity"], row["category"]
            if category.startswith("Non-translation"):
                weight = 25.0
            elif severity == "Major":
                weight = 5.0
            elif severity == "Minor":
                weight = 0.1 if category == "Fluency/Punctuation" else 1.0
            else:
                weight = 0.0
            penalty[key] += weight
    path = out / "wmt_mqm_ted_ende_scores.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for (item, system), value in sorted(penalty.items()):
            handle.write(json.dumps({"item": item, "system": system, "score": -value}) + "\n")
    return path


def wmt(args: argparse.Namespace, out: Path) -> None:
    path = wmt_scores(out)
    scores = ScoreTable.read(path)
    n = len(scores.systems)
    say(f"### Scores file: WMT 2021 MQM TED en-de, {n} systems, {len(scores.items)} segments\n")
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    say(f"Oracle file: `{shown}` (this script writes it)\n")
    settings = SelectionSettings(budget=100_000, step=2_000, min_per_pair=args.min_per_pair)
    results = simulate_selection(
        scores_factory(scores),
        strategies=["uniform", "active"],
        seeds=args.seeds,
        settings=settings,
        target_tau=args.target_tau,
        jobs=args.jobs,
    )
    selection_report("wmt", results, settings, args.target_tau, out, f"WMT MQM scores oracle, {n} systems")


def pandalm(args: argparse.Namespace, out: Path) -> None:
    from functools import partial

    rows = read_pandalm(DATA / "pandalm_testset_v1.json")
    say(f"### PandaLM human labels as the oracle: 5 systems, {3 * len(rows):,} labels, each used once\n")
    say("With 5 systems Kendall's tau moves in steps of 0.2, so tau >= 0.9 means the exact order.\n")
    settings = SelectionSettings(budget=3 * len(rows), step=50, min_per_pair=args.min_per_pair)
    results = simulate_selection(
        partial(PandaLMOracle, rows),
        strategies=["uniform", "active"],
        seeds=args.seeds,
        settings=settings,
        target_tau=args.target_tau,
        jobs=args.jobs,
    )
    selection_report("pandalm", results, settings, args.target_tau, out, "PandaLM human labels, 5 systems")


# --- routing -----------------------------------------------------------------------------------------


def routing(args: argparse.Namespace, out: Path) -> None:
    for judge in ("gpt35", "pandalm7b"):
        data = load_pandalm_routing(DATA, judge=judge)
        settings = RoutingSettings()
        result = simulate_routing(data, seeds=args.seeds, settings=settings)
        say(
            f"### Routing on PandaLM, judge {judge} ({args.seeds} seeds, calibration slice "
            f"{settings.calibration:.0%} of items, l2 {settings.l2})\n"
        )
        say(
            table(
                ["human budget", *METHODS, "routed - random"],
                routing_table(result, lambda v: mean_interval(v)),
            )
        )
        gain = result.agreement["routed"][:, 1] - result.agreement["random"][:, 1]
        mean, low, high = mean_interval(gain)
        say(
            f"\nAt budget 0.25: routed - random = **{100 * mean:+.1f} points** "
            f"(95% interval {100 * low:+.1f} to {100 * high:+.1f}; target >= +5).\n"
        )
        share, valid, calibrated = (
            result.threshold_human_share.mean(),
            np.nanmean(result.threshold_accepted_agreement),
            np.nanmean(result.calibration_accepted_agreement),
        )
        say(
            f"Threshold at alpha = {result.alpha}: accepted judge labels agree with the revealed human "
            f"{100 * calibrated:.1f}% on the calibration slice (>= {100 * (1 - result.alpha):.0f}% by "
            f"construction) and {100 * valid:.1f}% on the other items; it would send "
            f"{100 * share:.1f}% of them to humans.\n"
        )
        weights = np.mean([[c[k] for k in result.coefficients[0]] for c in result.coefficients], axis=0)
        top = sorted(zip(result.coefficients[0], weights, strict=True), key=lambda kv: -abs(kv[1]))[:6]
        say(
            "Mean router weights (standardised features): "
            + ", ".join(f"{k} {v:+.2f}" for k, v in top)
            + "\n"
        )
        _plot_curves(
            out / f"routing_pandalm_{judge}.png",
            np.array(result.budgets),
            {m: mean_interval(result.agreement[m]) for m in METHODS},
            title=f"PandaLM routing, judge {judge}",
            xlabel="human budget (share of items)",
            ylabel="agreement with held-out human consensus",
        )
    say(f"Sensitivity (judge gpt35, {args.seeds} seeds): routed - random at budget 0.25, points\n")
    data = load_pandalm_routing(DATA, judge="gpt35")
    rows = []
    for calibration in (0.03, 0.05, 0.1):
        row = [f"{calibration:.0%}"]
        for l2 in (1.0, 10.0, 30.0):
            settings = RoutingSettings(budgets=(0.25,), calibration=calibration, l2=l2)
            result = simulate_routing(data, seeds=args.seeds, settings=settings)
            mean, low, high = mean_interval(
                result.agreement["routed"][:, 0] - result.agreement["random"][:, 0]
            )
            row.append(f"{100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]")
        rows.append(row)
    say(table(["calibration slice", "l2 = 1", "l2 = 10", "l2 = 30"], rows))
    say()


# --- reward-model data -------------------------------------------------------------------------------


def reward(args: argparse.Namespace, out: Path) -> None:
    settings = RewardDataSettings()
    say(
        f"### Reward-model data: linear Bradley-Terry reward model, {settings.features} features, "
        f"{settings.candidates:,} candidate pairs, refit every {settings.step} labels ({args.seeds} seeds)\n"
    )
    curves = {
        strategy: np.array(
            [
                run_reward_data(strategy=strategy, settings=settings, annotators=AnnotatorModel(), seed=seed)
                for seed in range(args.seeds)
            ]
        )
        for strategy in ("uniform", "active")
    }
    labels = np.arange(curves["uniform"].shape[1]) * settings.step
    stats = {s: mean_interval(c) for s, c in curves.items()}
    diff = mean_interval(curves["active"] - curves["uniform"])
    rows = [
        [
            str(labels[k]),
            *(
                f"{stats[s][0][k]:.3f} [{stats[s][1][k]:.3f}, {stats[s][2][k]:.3f}]"
                for s in ("uniform", "active")
            ),
            f"{diff[0][k]:+.3f} [{diff[1][k]:+.3f}, {diff[2][k]:+.3f}]",
        ]
        for k in range(1, len(labels))
    ]
    say(table(["labels", "uniform: held-out accuracy", "active", "active - uniform (paired)"], rows))
    say()
    _plot_curves(
        out / "reward_data.png",
        labels,
        stats,
        title="reward-model data selection",
        xlabel="labels",
        ylabel="held-out pairwise accuracy",
    )


# --- plots -------------------------------------------------------------------------------------------


def _plot_curves(
    path: Path,
    x: np.ndarray,
    series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    hline: float | None = None,
) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        say(f"(matplotlib is not installed: no plot {path.name})")
        return
    figure, axes = plt.subplots(figsize=(7, 4.2))
    for name, (mean, low, high) in series.items():
        axes.plot(x, mean, label=name)
        axes.fill_between(x, low, high, alpha=0.2)
    if hline is not None:
        axes.axhline(hline, color="grey", linestyle="--", linewidth=1)
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    say(f"plot: {path}\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "var" / "simulate", help="folder for plots and files"
    )
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}"
    )
    parser.add_argument("--seeds", type=int, default=20, help="seeds per setting (at least 10)")
    parser.add_argument("--synthetic-seeds", type=int, default=40, help="seeds of the synthetic headline")
    parser.add_argument("--grid-seeds", type=int, default=10, help="seeds per grid cell")
    parser.add_argument(
        "--min-per-pair", type=int, default=0, help="votes every pair gets before active picks"
    )
    parser.add_argument("--target-tau", type=float, default=0.9)
    parser.add_argument("--picks", type=int, default=2000, help="picks timed for the latency table")
    parser.add_argument("--jobs", type=int, default=1, help="processes for the selection runs")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; use {', '.join(SECTIONS)}")
    if args.seeds < 10 or args.grid_seeds < 10:
        say("note: fewer than 10 seeds: intervals will be wide")
    args.out.mkdir(parents=True, exist_ok=True)
    runners = {
        "latency": lambda: latency(args.picks),
        "synthetic": lambda: synthetic(args, args.out),
        "grid": lambda: grid(args, args.out),
        "wmt": lambda: wmt(args, args.out),
        "pandalm": lambda: pandalm(args, args.out),
        "routing": lambda: routing(args, args.out),
        "reward": lambda: reward(args, args.out),
    }
    for section in sections:
        start = time.perf_counter()
        runners[section]()
        say(f"({section}: {time.perf_counter() - start:.0f} s)\n")


if __name__ == "__main__":
    main()
