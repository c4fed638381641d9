"""Per-annotator pieces of the quality report: gold accuracy, ratings against preferences, the time
histogram, and the flags that say which annotators' votes to look at."""

import math
from collections import defaultdict
from typing import Any

import numpy as np

from app.campaigns.models import Campaign
from app.quality import metrics

DIGITS = 4
DEFAULT_GOLD_ACCURACY = 0.7
DEFAULT_GOLD_ANSWERS = 5
# An annotator is judged on a number only once it rests on this many votes.
MIN_VOTES = 5
LOW_AGREEMENT = 0.2  # alpha against the rest: about chance level
LOW_WEIGHT = 0.2  # Dawid-Skene kappa with the latent truth
BIAS_P = 0.01
BINS_PER_DECADE = 4


def gold_threshold(campaign: Campaign) -> tuple[float, int]:
    """The campaign's pause rule (part of its quality settings) when set, else 0.7 after 5 answers."""
    config = campaign.quality or {}
    threshold = config.get("min_gold_accuracy")
    return (
        float(threshold) if threshold is not None else DEFAULT_GOLD_ACCURACY,
        int(config.get("min_gold_answers") or DEFAULT_GOLD_ANSWERS),
    )


def gold_rates(gold_correct: np.ndarray, names: np.ndarray) -> metrics.Bias:
    """Share of gold votes answered right, overall and per annotator (1 correct, 0 wrong, -1 none)."""
    scored = gold_correct >= 0
    correct = gold_correct[scored] == 1
    by_group = metrics.rates_by_group(correct, names[scored]) if scored.any() else {}
    return metrics.Bias(
        overall=metrics.binomial_rate(int(correct.sum()), int(scored.sum())), by_group=by_group
    )


def empty_consistency() -> dict[str, Any]:
    return _consistency(metrics.rating_preference_consistency([], [], []))


def _consistency(result: metrics.Consistency) -> dict[str, Any]:
    return {
        "agreeing": result.agreeing.as_dict(DIGITS),
        "equal_ratings_with_preference": result.rating_ties,
        "ties_between_unequal_ratings": result.preference_ties,
    }


def _mean(ratings: dict[str, Any]) -> float:
    return float(np.mean([float(v) for v in ratings.values()])) if ratings else math.nan


def rating_preference(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether the preferred output is also rated higher (mean over the rubric's aspects, and per
    aspect), over human votes that collected both on one pair."""
    people = [e for e in entries if e["kind"] == "human"]
    a = np.array([_mean(e["a"]) for e in people])
    b = np.array([_mean(e["b"]) for e in people])
    preference = np.array([e["preference"] for e in people], dtype=float)
    names = np.array([e["annotator"] for e in people], dtype=object)
    aspects = sorted({name for e in people for name in e["a"]})
    by_aspect = {}
    for aspect in aspects:
        pa = np.array([float(e["a"].get(aspect, math.nan)) for e in people])
        pb = np.array([float(e["b"].get(aspect, math.nan)) for e in people])
        by_aspect[aspect] = _consistency(metrics.rating_preference_consistency(pa, pb, preference))
    by_annotator = (
        {
            str(name): _consistency(result)
            for name, result in metrics.rating_preference_consistency_by_group(
                a, b, preference, groups=names
            ).items()
        }
        if people
        else {}
    )
    return {
        "overall": {
            "votes": len(people),
            "mean_rating": _consistency(metrics.rating_preference_consistency(a, b, preference)),
            "by_aspect": by_aspect,
        },
        "by_annotator": by_annotator,
    }


def time_histogram(times_ms: np.ndarray, outliers: metrics.TimeOutliers) -> dict[str, Any]:
    """Times on a log scale, BINS_PER_DECADE bins a decade, with the outlier cut-offs in ms."""
    if times_ms.size == 0:
        return {"bins": [], "fast_below_ms": None, "slow_above_ms": None}
    logs = np.log10(np.maximum(times_ms, 1.0))
    low = math.floor(logs.min() * BINS_PER_DECADE) / BINS_PER_DECADE
    high = max(low + 1 / BINS_PER_DECADE, math.ceil(logs.max() * BINS_PER_DECADE + 1e-9) / BINS_PER_DECADE)
    edges = np.arange(low, high + 1e-9, 1 / BINS_PER_DECADE)
    index = np.clip(np.searchsorted(edges, logs, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(index, minlength=len(edges) - 1)
    flagged = np.bincount(index, weights=outliers.too_fast | outliers.too_slow, minlength=len(edges) - 1)
    median, scale = metrics.log_time_location_scale(times_ms)
    cut = (
        round(math.exp(median - outliers.threshold * scale)),
        round(math.exp(median + outliers.threshold * scale)),
    )
    return {
        "bins": [
            {
                "low_ms": round(10 ** float(edges[k]), 1),
                "high_ms": round(10 ** float(edges[k + 1]), 1),
                "count": int(counts[k]),
                "outliers": int(flagged[k]),
            }
            for k in range(len(edges) - 1)
        ],
        "fast_below_ms": cut[0],
        "slow_above_ms": cut[1],
    }


def flags(row: dict[str, Any], *, gold_threshold: float, gold_min: int) -> list[dict[str, str]]:
    """Why an annotator's votes are worth a look; none for an annotator with too few votes to judge."""
    found: list[dict[str, str]] = []
    alpha, pairable = row["alpha_vs_rest"], row["votes"]
    if alpha is not None and pairable >= MIN_VOTES and alpha < LOW_AGREEMENT:
        found.append(
            {
                "code": "low_agreement",
                "message": f"agrees with the others at chance level (alpha {alpha:.2f})",
            }
        )
    weight = row["dawid_skene_weight"]
    # Without any disagreement to explain (alpha undefined) a weight says nothing.
    if weight is not None and alpha is not None and row["votes"] >= MIN_VOTES and weight < LOW_WEIGHT:
        found.append(
            {
                "code": "low_reliability",
                "message": f"reliability weight {weight:.2f}: answers barely follow the consensus",
            }
        )
    gold = row["gold"]
    if gold["n"] >= gold_min and gold["rate"] is not None and gold["rate"] < gold_threshold:
        found.append(
            {
                "code": "gold",
                "message": f"gold accuracy {gold['rate']:.0%} of {gold['n']}, below {gold_threshold:.0%}",
            }
        )
    side = row["position_bias"]
    if side["n"] >= 2 * MIN_VOTES and side["p_value"] is not None and side["p_value"] < BIAS_P:
        found.append(
            {
                "code": "position",
                "message": f"picks the {'left' if side['rate'] > 0.5 else 'right'} side "
                f"{max(side['rate'], 1 - side['rate']):.0%} of {side['n']} times (p = {side['p_value']:.2g})",
            }
        )
    times = row["time_on_task"]
    if row["votes"] >= MIN_VOTES and (
        (times["median_z"] is not None and times["median_z"] < -3.5) or times["too_fast"] * 2 >= row["votes"]
    ):
        found.append(
            {
                "code": "too_fast",
                "message": f"median {times['median_ms'] / 1000:.1f} s a task, far faster than the others",
            }
        )
    return found


def flagged_share(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """(votes by flagged annotators, all votes)."""
    by_flag: dict[bool, int] = defaultdict(int)
    for row in rows:
        by_flag[bool(row["flags"])] += row["votes"]
    return by_flag[True], by_flag[True] + by_flag[False]
