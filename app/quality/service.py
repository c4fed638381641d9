"""A campaign's quality numbers from its votes: agreement for every task kind (`answers`,
`agreement`), annotator reliability, position and length bias, time-on-task outliers, flag and rating
consistency with preferences, gold accuracy, overall and per annotator, and the verdict (`verdict`).

Read-only: two streaming queries over the campaign's votes (A/B votes with the side order each
annotator saw and the candidates' lengths; every vote's answer), then the pure functions of `metrics`
and `reliability`. People's votes only; LM judges are compared with them apart. Annotators appear by
pseudonym, as in exports.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign, TaskKind
from app.errors import Invalid
from app.items.models import Candidate, Comparison
from app.quality import agreement, metrics, reliability, verdict
from app.quality import annotators as annotators_module
from app.quality.answers import CampaignAnswers, load_answers
from app.voting.models import Assignment, Outcome, Vote

# A vote's outcome relative to the comparison's own candidate order, as in the exports' agreement.
LABELS = ("first", "second", "tie", "both_bad")
BATCH = 5000
DIGITS = 4


@dataclass(frozen=True)
class CampaignVotes:
    """A campaign's votes as parallel arrays, in vote order."""

    annotator_id: np.ndarray
    pseudonym: np.ndarray
    comparison_id: np.ndarray
    label: np.ndarray  # index into LABELS
    left_won: np.ndarray  # preference votes: the winner was shown first (A)
    winner_id: np.ndarray  # candidate id, -1 without a winner
    loser_id: np.ndarray
    winner_length: np.ndarray  # characters, 0 without a winner
    loser_length: np.ndarray
    graded: np.ndarray  # signed strength toward the comparison's first candidate, NaN when not graded
    time_ms: np.ndarray
    flag_rating_left: np.ndarray  # minus the number of flags set on the side shown first
    flag_rating_right: np.ndarray
    preference_left: np.ndarray  # +1 left won, -1 right won, 0 tie, NaN both bad

    def __len__(self) -> int:
        return len(self.label)

    @property
    def is_preference(self) -> np.ndarray:
        return self.winner_id >= 0


def load_votes(session: Session, *, campaign: Campaign, human_only: bool = False) -> CampaignVotes:
    """Every A/B vote of the campaign (or its people's only); lengths are characters of the candidates'
    text (0 for media only)."""
    left, right = aliased(Candidate), aliased(Candidate)
    query = (
        select(
            Vote.annotator_id,
            User.pseudonym,
            Vote.comparison_id,
            Vote.outcome,
            Vote.winner_candidate_id,
            Vote.loser_candidate_id,
            Vote.strength,
            Vote.time_on_task_ms,
            Vote.flags,
            Comparison.candidate_a_id,
            Assignment.left_candidate_id,
            Assignment.right_candidate_id,
            left.public_id,
            right.public_id,
            func.length(left.content),
            func.length(right.content),
        )
        .join(Assignment, Assignment.id == Vote.assignment_id)
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .join(User, User.id == Vote.annotator_id)
        .join(left, left.id == Assignment.left_candidate_id)
        .join(right, right.id == Assignment.right_candidate_id)
        # A/B votes only: ratings, rankings and segments are not measured here yet.
        .where(Vote.campaign_id == campaign.id, Vote.outcome.is_not(None))
        .order_by(Vote.id)
        .execution_options(yield_per=BATCH)
    )
    if human_only:
        query = query.where(User.kind == UserKind.human)
    columns: dict[str, list[Any]] = {name: [] for name in CampaignVotes.__dataclass_fields__}
    for (
        annotator_id,
        pseudonym,
        comparison_id,
        outcome,
        winner,
        loser,
        strength,
        time_ms,
        flags,
        first_id,
        left_id,
        right_id,
        left_public,
        right_public,
        left_length,
        right_length,
    ) in session.execute(query):
        outcome = Outcome(outcome)
        is_preference = winner is not None
        first_won = winner == first_id
        label = ("first" if first_won else "second") if is_preference else outcome.value
        if not is_preference:
            graded = 0.0 if outcome == Outcome.tie else np.nan
        elif strength is None:
            graded = np.nan
        else:
            # "unsure" (0) still names a side: between a tie and "slightly".
            graded = (1 if first_won else -1) * (strength if strength > 0 else 0.5)
        lengths = {left_id: left_length or 0, right_id: right_length or 0}
        flags = flags or {}
        columns["annotator_id"].append(annotator_id)
        columns["pseudonym"].append(pseudonym)
        columns["comparison_id"].append(comparison_id)
        columns["label"].append(LABELS.index(label))
        columns["left_won"].append(winner == left_id)
        columns["winner_id"].append(winner if is_preference else -1)
        columns["loser_id"].append(loser if is_preference else -1)
        columns["winner_length"].append(lengths.get(winner, 0))
        columns["loser_length"].append(lengths.get(loser, 0))
        columns["graded"].append(graded)
        columns["time_ms"].append(time_ms)
        columns["flag_rating_left"].append(-len(flags.get(left_public, [])))
        columns["flag_rating_right"].append(-len(flags.get(right_public, [])))
        columns["preference_left"].append(
            (1.0 if winner == left_id else -1.0)
            if is_preference
            else (0.0 if outcome == Outcome.tie else np.nan)
        )
    dtypes = {
        "pseudonym": object,
        "left_won": bool,
        "graded": float,
        "preference_left": float,
        "flag_rating_left": float,
        "flag_rating_right": float,
    }
    return CampaignVotes(
        **{name: np.asarray(values, dtype=dtypes.get(name, np.int64)) for name, values in columns.items()}
    )


def _round(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), DIGITS)


def campaign_quality(session: Session, *, campaign: Campaign) -> dict[str, Any]:
    """Every quality number of a campaign, overall and per annotator (by pseudonym), over human votes;
    LM judges (annotators of kind model) only in `judges`, against the people."""
    votes = load_votes(session, campaign=campaign, human_only=True)
    answers = load_answers(session, campaign=campaign)
    human = answers.kind == UserKind.human.value
    names = votes.pseudonym.astype(str)
    # Every human who voted, A/B or not.
    annotators: list[str] = np.unique(answers.pseudonym[human].astype(str)).tolist()
    n_annotators = len(annotators)
    where = {name: i for i, name in enumerate(annotators)}
    human_names = answers.pseudonym[human].astype(str)
    annotator_index = np.fromiter((where[n] for n in human_names), dtype=np.int64, count=len(human_names))

    ratings = metrics.Ratings.from_triples(
        votes.comparison_id.tolist(), names.tolist(), [LABELS[i] for i in votes.label], domain=LABELS
    )
    counts = ratings.counts()
    graded = metrics.Ratings.from_triples(votes.comparison_id.tolist(), names.tolist(), votes.graded.tolist())
    alphas, per_measure = agreement.agreement(answers)
    primary = agreement.primary_measure(campaign)
    primary_alpha = per_measure.get(primary or "", {})

    preference = votes.is_preference
    who_preferred = names[preference]
    position = metrics.position_bias(votes.left_won[preference], groups=who_preferred)
    length = metrics.length_bias(
        votes.winner_length[preference], votes.loser_length[preference], groups=who_preferred
    )
    human_times = answers.time_ms[human]
    times = metrics.time_on_task_outliers(human_times)
    # Flags as a rating (minus the number of flags on a side): preferring the more-flagged side, or
    # calling a tie between unequally flagged sides, is worth a look.
    flag_args = (votes.flag_rating_left, votes.flag_rating_right, votes.preference_left)
    flags = _consistency(metrics.rating_preference_consistency(*flag_args))
    flags_by_annotator = metrics.rating_preference_consistency_by_group(*flag_args, groups=names)
    ratings_vs_preferences = annotators_module.rating_preference(answers.consistency)
    ds = _dawid_skene(votes) if len(votes) else _measure_dawid_skene(answers, primary)
    bt = _crowd_bt(votes)
    gold = annotators_module.gold_rates(answers.gold_correct[human], human_names)

    votes_per = np.bincount(annotator_index, minlength=n_annotators)
    too_fast_per = np.bincount(annotator_index, weights=times.too_fast, minlength=n_annotators)
    too_slow_per = np.bincount(annotator_index, weights=times.too_slow, minlength=n_annotators)
    median_ms = _median_by_group(human_times, annotator_index, n_annotators)
    # Who is slow or fast as a habit, against the other annotators' medians.
    median_z = (
        metrics.robust_z(np.log(np.maximum(median_ms, 1))) if n_annotators >= 3 else np.zeros(n_annotators)
    )
    pairwise = per_measure.get("preference", {})
    rows = []
    for i, name in enumerate(annotators):
        coder = pairwise.get(name) if campaign.task_kind in (TaskKind.pairwise, TaskKind.arena) else None
        coder = coder or primary_alpha.get(name)
        rows.append(
            {
                "annotator": name,
                "votes": int(votes_per[i]),
                "alpha_vs_rest": _round(coder.vs_rest) if coder else None,
                "alpha_without": _round(coder.without) if coder else None,
                "alpha_vs_rest_by_measure": {
                    measure: _round(by_coder[name].vs_rest)
                    for measure, by_coder in per_measure.items()
                    if name in by_coder
                },
                "position_bias": _rate(position.by_group.get(name)),
                "length_bias": _rate(length.by_group.get(name)),
                "time_on_task": {
                    "median_ms": _round(float(median_ms[i])),
                    "too_fast": int(too_fast_per[i]),
                    "too_slow": int(too_slow_per[i]),
                    "median_z": _round(float(median_z[i])),
                },
                "flag_consistency": _consistency(
                    flags_by_annotator.get(name, metrics.rating_preference_consistency([], [], []))
                ),
                "rating_preference": ratings_vs_preferences["by_annotator"].get(
                    name, annotators_module.empty_consistency()
                ),
                "gold": _rate(gold.by_group.get(name)),
                "dawid_skene_weight": _round(ds["weights"].get(name)),
                "spammer_score": _round(ds["spammer_scores"].get(name)),
                "crowd_bt_eta": _round(bt["eta"].get(name)),
                "crowd_bt_weight": _round(bt["weights"].get(name)),
            }
        )
    gold_threshold, gold_min = annotators_module.gold_threshold(campaign)
    for row in rows:
        row["flags"] = annotators_module.flags(row, gold_threshold=gold_threshold, gold_min=gold_min)
    result = {
        "campaign": campaign.slug,
        "kind": campaign.task_kind.value,
        "votes": int(human.sum()),
        "annotators": n_annotators,
        "comparisons": int((counts.sum(axis=1) > 0).sum()),
        "comparisons_with_2plus_votes": int((counts.sum(axis=1) >= 2).sum()),
        "agreement": {
            "pairwise_agreement": _round(metrics.pairwise_agreement(counts)),
            "alpha_nominal": _round(metrics.krippendorff_alpha(ratings, level="nominal")),
            # Preferences graded by strength (first much better = +3 .. tie 0 .. second much better = -3).
            "alpha_ordinal_graded": _round(metrics.krippendorff_alpha(graded, level="ordinal")),
        },
        "primary_measure": primary,
        "alphas": alphas,
        "position_bias": _rate(position.overall),
        "length_bias": _rate(length.overall),
        "time_on_task": {
            "median_ms": _round(times.median_ms),
            "too_fast": int(times.too_fast.sum()),
            "too_slow": int(times.too_slow.sum()),
            "threshold_z": times.threshold,
            "histogram": annotators_module.time_histogram(human_times, times),
        },
        "flag_consistency": flags,
        "rating_preference": ratings_vs_preferences["overall"],
        "gold": _rate(gold.overall) | {"threshold": gold_threshold, "min_answers": gold_min},
        "reliability": {
            "dawid_skene": {k: v for k, v in ds.items() if k not in ("weights", "spammer_scores")},
            "crowd_bt": {k: v for k, v in bt.items() if k not in ("weights", "eta")},
        },
        "by_annotator": rows,
        "judges": agreement.judges_vs_humans(answers),
    }
    result["verdict"] = verdict.verdict(result)
    return result


def annotator_weights(
    session: Session, *, campaign: Campaign, model: str = "dawid_skene", human_only: bool = False
) -> dict[int, float]:
    """Reliability weight in [0, 1] per annotator (user id) from the A/B votes: `dawid_skene` or
    `crowd_bt`; `human_only` leaves LM judges out of the fit (and of the result).

    For exports (weighted majorities) and reward-model training (per-pair weights).
    """
    if model not in ("dawid_skene", "crowd_bt"):
        raise Invalid(f"unknown reliability model {model!r}; use dawid_skene or crowd_bt")
    votes = load_votes(session, campaign=campaign, human_only=human_only)
    fitted = (
        _dawid_skene(votes, key=votes.annotator_id)
        if model == "dawid_skene"
        else _crowd_bt(votes, key=votes.annotator_id)
    )
    return {int(k): float(v) for k, v in fitted["weights"].items()}


def _median_by_group(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    if n_groups == 0:
        return values[:0]
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(1, n_groups))
    return np.array([np.median(part) for part in np.split(values[order], bounds)])


def _rate(rate: metrics.Rate | None) -> dict[str, float | int | None]:
    return (rate or metrics.binomial_rate(0, 0)).as_dict(DIGITS)


def _consistency(result: metrics.Consistency) -> dict[str, Any]:
    return {
        "agreeing": result.agreeing.as_dict(DIGITS),
        "equally_flagged_preferences": result.rating_ties,
        "ties_between_unequally_flagged": result.preference_ties,
    }


def _dawid_skene(votes: CampaignVotes, key: np.ndarray | None = None) -> dict[str, Any]:
    key = votes.pseudonym.astype(str) if key is None else key
    if len(votes) == 0:
        return {
            "weights": {},
            "spammer_scores": {},
            "converged": None,
            "iterations": 0,
            "class_priors": None,
            "measure": None,
        }
    coders, coder = np.unique(key, return_inverse=True)
    _, item = np.unique(votes.comparison_id, return_inverse=True)
    fit = reliability.dawid_skene(item, coder, votes.label, n_classes=len(LABELS))
    return {
        "weights": {_key(c): float(w) for c, w in zip(coders, fit.weights, strict=True)},
        "spammer_scores": {_key(c): float(w) for c, w in zip(coders, fit.spammer_scores, strict=True)},
        "measure": "preference",
        "converged": fit.converged,
        "iterations": fit.iterations,
        "class_priors": {label: _round(p) for label, p in zip(LABELS, fit.priors, strict=True)},
    }


def _measure_dawid_skene(answers: CampaignAnswers, measure: str | None) -> dict[str, Any]:
    """Dawid-Skene on a measure's human values taken as classes (ratings, places, labels), for kinds
    without an A/B preference: its weight says how well an annotator's values predict the consensus."""
    found = answers.measures.get(measure or "")
    ratings = found.ratings() if found else None
    if ratings is None or ratings.n_units == 0:
        return _dawid_skene(load_empty())
    fit = reliability.dawid_skene(ratings.unit, ratings.coder, ratings.value, n_classes=len(ratings.domain))
    coders = [str(c) for c in ratings.coders.tolist()]
    return {
        "weights": dict(zip(coders, fit.weights.tolist(), strict=True)),
        "spammer_scores": dict(zip(coders, fit.spammer_scores.tolist(), strict=True)),
        "converged": fit.converged,
        "iterations": fit.iterations,
        "class_priors": None,
        "measure": measure,
    }


def load_empty() -> CampaignVotes:
    return CampaignVotes(**{name: np.asarray([]) for name in CampaignVotes.__dataclass_fields__})


def _crowd_bt(votes: CampaignVotes, key: np.ndarray | None = None) -> dict[str, Any]:
    key = votes.pseudonym.astype(str) if key is None else key
    preference = votes.is_preference
    if not preference.any():
        return {"weights": {}, "eta": {}, "converged": None, "iterations": 0, "votes": 0}
    coders, coder = np.unique(key[preference], return_inverse=True)
    candidates, candidate = np.unique(
        np.concatenate([votes.winner_id[preference], votes.loser_id[preference]]), return_inverse=True
    )
    n = int(preference.sum())
    fit = reliability.crowd_bt(candidate[:n], candidate[n:], coder, n_candidates=len(candidates))
    return {
        "weights": {_key(c): float(w) for c, w in zip(coders, fit.weights, strict=True)},
        "eta": {_key(c): float(e) for c, e in zip(coders, fit.eta, strict=True)},
        "converged": fit.converged,
        "iterations": fit.iterations,
        "votes": n,
    }


def _key(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
