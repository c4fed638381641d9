"""Every vote of a campaign as agreement measures: what each annotator answered, per unit, per kind.

One streaming query over the votes (answers, side order shown, annotator kind, gold result, time), plus,
for span campaigns only, one over the campaign's candidates to cut texts into words. A measure is a
list of (unit, coder, value) triples with its level of measurement:

- `preference` (pairwise): the outcome relative to the comparison's own candidate order, nominal;
- `rating:<aspect>` and the pooled `ratings`: the value given to one output in one comparison, interval;
- `ranking`: the place (1 = best, tied outputs share one) of each output, ordinal;
- `spans` / `spans_any`: each word of each output with the label of the span covering it (or `O`),
  nominal, as `metrics.span_token_alpha` (with or without the labels);
- `windows`: the side preferred in each window (or tie), nominal;
- `checklist`: each question's yes or no, nominal; `thumb`: up or down, nominal.
Time ranges on audio and video are not measured yet.
"""

import re
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign, TaskKind
from app.items.models import Candidate, Comparison, Item
from app.quality import metrics
from app.tasks.config import task_config
from app.voting.models import Assignment, Outcome, Vote

BATCH = 5000
_WORD = re.compile(r"\w+", re.UNICODE)
OUTSIDE = "O"


@dataclass
class Measure:
    """Triples of one measure, with each value's annotator kind (human or model)."""

    name: str
    label: str
    level: metrics.Level
    aspect: str | None = None
    units: list[Hashable] = field(default_factory=list)
    coders: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def add(self, unit: Hashable, coder: str, kind: str, value: Any) -> None:
        self.units.append(unit)
        self.coders.append(coder)
        self.values.append(value)
        self.kinds.append(kind)

    def ratings(self, *, kinds: tuple[str, ...] = ("human",)) -> metrics.Ratings:
        keep = [i for i, k in enumerate(self.kinds) if k in kinds]
        return metrics.Ratings.from_triples(
            [self.units[i] for i in keep], [self.coders[i] for i in keep], [self.values[i] for i in keep]
        )


@dataclass
class CampaignAnswers:
    """Per vote (parallel arrays) and the measures built from the answers."""

    annotator_id: np.ndarray
    pseudonym: np.ndarray
    kind: np.ndarray
    time_ms: np.ndarray
    gold_correct: np.ndarray  # 1 correct, 0 wrong, -1 not a gold vote
    measures: dict[str, Measure]
    # Strict preferences with ratings of both sides: the two sides' mean ratings and per aspect,
    # oriented so that the winner is "a" (preference +1); ties carry preference 0.
    consistency: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.time_ms)


def word_offsets(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word: the tokens a span is measured in (spans are snapped to words)."""
    return [(m.start(), m.end()) for m in _WORD.finditer(text)]


def span_tokens(offsets: list[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The tokens [first, last) that a character span [start, end) overlaps."""
    inside = [i for i, (s, e) in enumerate(offsets) if s < end and e > start]
    return (inside[0], inside[-1] + 1) if inside else (0, 0)


def _shown(left: int, right: int | None, shown_ids: list[int] | None) -> list[int]:
    if shown_ids:
        return list(shown_ids)
    return [left] if right is None else [left, right]


def _words_by_candidate(session: Session, campaign: Campaign) -> dict[int, tuple[str, list[tuple[int, int]]]]:
    rows = session.execute(
        select(Candidate.id, Candidate.public_id, Candidate.content)
        .join(Item, Item.id == Candidate.item_id)
        .where(Item.campaign_id == campaign.id)
        .execution_options(yield_per=BATCH)
    )
    return {cid: (public_id, word_offsets(content or "")) for cid, public_id, content in rows}


def load_answers(session: Session, *, campaign: Campaign) -> CampaignAnswers:
    kind = campaign.task_kind
    mode = task_config(campaign).segment_mode if kind == TaskKind.segment else None
    words = _words_by_candidate(session, campaign) if mode == "spans" else {}
    measures: dict[str, Measure] = {}

    def measure(name: str, label: str, level: metrics.Level, aspect: str | None = None) -> Measure:
        if name not in measures:
            measures[name] = Measure(name=name, label=label, level=level, aspect=aspect)
        return measures[name]

    winner, loser = aliased(Candidate), aliased(Candidate)
    query = (
        select(
            Vote.annotator_id,
            User.pseudonym,
            User.kind,
            Vote.comparison_id,
            Vote.outcome,
            Vote.answer,
            Vote.winner_candidate_id,
            winner.public_id,
            loser.public_id,
            Vote.gold_correct,
            Vote.time_on_task_ms,
            Comparison.candidate_a_id,
            Assignment.left_candidate_id,
            Assignment.right_candidate_id,
            Assignment.shown_ids,
        )
        .join(User, User.id == Vote.annotator_id)
        .join(Assignment, Assignment.id == Vote.assignment_id)
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .outerjoin(winner, winner.id == Vote.winner_candidate_id)
        .outerjoin(loser, loser.id == Vote.loser_candidate_id)
        .where(Vote.campaign_id == campaign.id)
        .order_by(Vote.id)
        .execution_options(yield_per=BATCH)
    )
    columns: dict[str, list[Any]] = defaultdict(list)
    consistency: list[dict[str, Any]] = []
    for (
        annotator_id,
        pseudonym,
        user_kind,
        comparison_id,
        outcome,
        answer,
        winner_id,
        winner_public,
        loser_public,
        gold_correct,
        time_ms,
        first_id,
        left_id,
        right_id,
        shown_ids,
    ) in session.execute(query):
        who = str(pseudonym)
        user_kind = UserKind(user_kind).value
        answer = answer or {}
        columns["annotator_id"].append(annotator_id)
        columns["pseudonym"].append(who)
        columns["kind"].append(user_kind)
        columns["time_ms"].append(time_ms)
        columns["gold_correct"].append(-1 if gold_correct is None else int(bool(gold_correct)))
        if outcome is not None:
            outcome = Outcome(outcome)
            if winner_id is not None:
                value = "first" if winner_id == first_id else "second"
            else:
                value = outcome.value
            measure("preference", "Preference (A/B/tie/both bad)", "nominal").add(
                comparison_id, who, user_kind, value
            )
        ratings: dict[str, dict[str, Any]] = answer.get("ratings") or {}
        for candidate, given in ratings.items():
            for aspect, value in given.items():
                unit = (comparison_id, candidate, aspect)
                measure(f"rating:{aspect}", f"Rating: {aspect}", "interval", aspect).add(
                    unit, who, user_kind, float(value)
                )
                measure("ratings", "Ratings (all aspects)", "interval").add(
                    unit, who, user_kind, float(value)
                )
        if outcome is not None and len(ratings) == 2:
            if winner_public is not None:
                pair = (winner_public, loser_public)
                preference = 1.0
            elif outcome == Outcome.tie:
                pair = tuple(sorted(ratings))  # type: ignore[assignment]
                preference = 0.0
            else:
                pair = None  # both bad: no preference to compare with
                preference = np.nan
            if pair is not None and all(c in ratings for c in pair):
                consistency.append(
                    {"annotator": who, "kind": user_kind, "a": ratings[pair[0]], "b": ratings[pair[1]]}
                    | {"preference": preference}
                )
        for place, group in enumerate(answer.get("ranking") or [], start=1):
            for candidate in group:
                measure("ranking", "Ranking (place of each output)", "ordinal").add(
                    (comparison_id, candidate), who, user_kind, place
                )
        if mode == "spans" and "spans" in answer:
            _add_spans(
                measure("spans", "Spans (word by word, with labels)", "nominal"),
                measure("spans_any", "Spans (word by word, any label)", "nominal"),
                answer["spans"],
                [words[c] for c in _shown(left_id, right_id, shown_ids) if c in words],
                who,
                user_kind,
            )
        for index, choice in enumerate(answer.get("windows") or []):
            measure("windows", "Windows (side preferred)", "nominal").add(
                (comparison_id, index), who, user_kind, choice
            )
        for question, yes in (answer.get("checklist") or {}).items():
            measure("checklist", "Checklist (yes/no per question)", "nominal").add(
                (comparison_id, question), who, user_kind, "yes" if yes else "no"
            )
        if answer.get("thumb") is not None:
            measure("thumb", "Thumbs (up/down)", "nominal").add(
                comparison_id, who, user_kind, answer["thumb"]
            )
    return CampaignAnswers(
        annotator_id=np.asarray(columns["annotator_id"], dtype=np.int64),
        pseudonym=np.asarray(columns["pseudonym"], dtype=object),
        kind=np.asarray(columns["kind"], dtype=object),
        time_ms=np.asarray(columns["time_ms"], dtype=float),
        gold_correct=np.asarray(columns["gold_correct"], dtype=np.int64),
        measures=measures,
        consistency=consistency,
    )


def _add_spans(
    labelled: Measure,
    presence: Measure,
    spans: list[dict[str, Any]],
    shown: list[tuple[str, list[tuple[int, int]]]],
    who: str,
    user_kind: str,
) -> None:
    """Every word of every output shown, so an annotator who marked nothing agrees on the unmarked."""
    by_candidate: dict[str, list[metrics.Span]] = defaultdict(list)
    offsets = dict(shown)
    for span in spans:
        if span["candidate"] in offsets:
            first, last = span_tokens(offsets[span["candidate"]], span["start"], span["end"])
            by_candidate[span["candidate"]].append((first, last, span["label"]))
    for candidate, words in shown:
        labels = metrics.token_labels(len(words), by_candidate.get(candidate, []), outside=OUTSIDE)
        for index, label in enumerate(labels):
            labelled.add((candidate, index), who, user_kind, label)
            presence.add((candidate, index), who, user_kind, OUTSIDE if label == OUTSIDE else "span")
