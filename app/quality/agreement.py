"""Krippendorff's alpha per measure, per annotator against the rest, and LM judges against people.

Thresholds are Krippendorff's (2004, "Content Analysis", 241): data with alpha >= 0.8 are reliable,
0.667 <= alpha < 0.8 allow tentative conclusions only, below that they should not be relied on.
"""

from collections import Counter, defaultdict
from typing import Any, Literal

import numpy as np

from app.campaigns.models import Campaign, TaskKind
from app.quality import metrics
from app.quality.answers import CampaignAnswers, Measure
from app.tasks.config import task_config

RELIABLE = 0.8
TENTATIVE = 0.667
DIGITS = 4
Band = Literal["reliable", "tentative", "unreliable", "undefined"]


def band(alpha: float | None) -> Band:
    if alpha is None:
        return "undefined"
    return "reliable" if alpha >= RELIABLE else "tentative" if alpha >= TENTATIVE else "unreliable"


def primary_measure(campaign: Campaign) -> str | None:
    """The measure that says whether a campaign's main answer is agreed on."""
    kind = campaign.task_kind
    if kind in (TaskKind.pairwise, TaskKind.arena):
        return "preference"
    if kind == TaskKind.segment:
        return {"spans": "spans", "windows": "windows"}.get(task_config(campaign).segment_mode)
    return {
        TaskKind.rating: "ratings",
        TaskKind.ranking: "ranking",
        TaskKind.checklist: "checklist",
        TaskKind.single: "thumb",
    }.get(kind)


def _round(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), DIGITS)


def alpha_row(measure: Measure, ratings: metrics.Ratings) -> dict[str, Any]:
    counts = ratings.counts()
    per_unit = counts.sum(axis=1)
    alpha = metrics.krippendorff_alpha(ratings, level=measure.level)
    return {
        "measure": measure.name,
        "label": measure.label,
        "level": measure.level,
        "aspect": measure.aspect,
        "alpha": _round(alpha),
        "band": band(alpha),
        "units": int(ratings.n_units),
        "pairable_units": int((per_unit >= 2).sum()),
        "values": int(per_unit.sum()),
        "annotators": int(ratings.n_coders),
    }


def agreement(answers: CampaignAnswers) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """(one row per measure, {measure: {pseudonym: CoderAlpha}}), over human values only."""
    rows, per_coder = [], {}
    for name in sorted(answers.measures, key=_order):
        measure = answers.measures[name]
        ratings = measure.ratings()
        if ratings.n_units == 0:
            continue
        rows.append(alpha_row(measure, ratings))
        per_coder[name] = {c.coder: c for c in metrics.alpha_per_coder(ratings, level=measure.level)}
    return rows, per_coder


def _order(name: str) -> tuple[int, str]:
    # The pooled measures before their parts.
    first = ("preference", "ratings", "ranking", "spans", "spans_any", "windows", "checklist", "thumb")
    return (first.index(name), name) if name in first else (len(first), name)


def judges_vs_humans(answers: CampaignAnswers) -> list[dict[str, Any]]:
    """Each LM judge (annotator of kind model) as one more coder beside the people: its alpha against
    them, and for nominal measures how often it gives the people's majority value (ties of the
    majority are skipped)."""
    judges = sorted({str(p) for p, k in zip(answers.pseudonym, answers.kind, strict=True) if k == "model"})
    result = []
    for judge in judges:
        measures = []
        for name in sorted(answers.measures, key=_order):
            measure = answers.measures[name]
            keep = [
                i
                for i, (k, c) in enumerate(zip(measure.kinds, measure.coders, strict=True))
                if k == "human" or c == judge
            ]
            if not any(measure.coders[i] == judge for i in keep):
                continue
            ratings = metrics.Ratings.from_triples(
                [measure.units[i] for i in keep],
                [measure.coders[i] for i in keep],
                [measure.values[i] for i in keep],
            )
            coder = next(c for c in metrics.alpha_per_coder(ratings, level=measure.level) if c.coder == judge)
            row: dict[str, Any] = {
                "measure": name,
                "alpha_vs_humans": _round(coder.vs_rest),
                "shared_units": coder.pairable,
            }
            if measure.level == "nominal":
                row["agrees_with_majority"] = _majority_agreement(measure, judge).as_dict(DIGITS)
            measures.append(row)
        votes = int(sum(1 for p in answers.pseudonym if p == judge))
        result.append({"annotator": judge, "votes": votes, "measures": measures})
    return result


def _majority_agreement(measure: Measure, judge: str) -> metrics.Rate:
    human: dict[Any, Counter[Any]] = defaultdict(Counter)
    mine: dict[Any, Any] = {}
    for unit, coder, value, kind in zip(
        measure.units, measure.coders, measure.values, measure.kinds, strict=True
    ):
        if kind == "human":
            human[unit][value] += 1
        elif coder == judge:
            mine[unit] = value
    agree = n = 0
    for unit, value in mine.items():
        ranked = human.get(unit, Counter()).most_common(2)
        if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
            continue
        n += 1
        agree += ranked[0][0] == value
    return metrics.binomial_rate(agree, n)
