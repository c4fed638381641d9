"""Annotator reliability weights for the `votes` format, fitted on a release's snapshot.

Dawid-Skene (app.quality.reliability) on the A/B votes with id <= the boundary, read as three integer
arrays filled batch by batch: a million votes take about 12 MB here, where app.quality.service's
loader (built for the quality page's many measures) holds Python lists of every column. Fitting on
the snapshot, not the whole campaign, also keeps a release's bytes a function of its votes.
"""

from typing import Literal

import numpy as np
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.items.models import Comparison
from app.quality import reliability
from app.quality.service import LABELS
from app.voting.models import Outcome, Vote

BATCH = 50_000


def _arrays(session: Session, *, campaign: Campaign, max_vote_id: int | None) -> tuple[np.ndarray, ...]:
    label = case(
        (Vote.winner_candidate_id == Comparison.candidate_a_id, LABELS.index("first")),
        (Vote.winner_candidate_id == Comparison.candidate_b_id, LABELS.index("second")),
        (Vote.outcome == Outcome.tie, LABELS.index("tie")),
        else_=LABELS.index("both_bad"),
    )
    query = (
        select(Vote.comparison_id, Vote.annotator_id, label)
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .where(Vote.campaign_id == campaign.id, Vote.outcome.is_not(None))
        .order_by(Vote.id)
        .execution_options(yield_per=BATCH)
    )
    if max_vote_id is not None:
        query = query.where(Vote.id <= max_vote_id)
    parts: list[np.ndarray] = []
    for batch in session.execute(query).partitions():
        parts.append(np.array(batch, dtype=np.int64).reshape(-1, 3))
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    rows = np.concatenate(parts)
    return rows[:, 0], rows[:, 1], rows[:, 2]


def snapshot_weights(
    session: Session,
    *,
    campaign: Campaign,
    max_vote_id: int | None,
    model: Literal["dawid_skene", "crowd_bt"] = "dawid_skene",
) -> dict[int, float]:
    """Weight in [0, 1] per annotator id. `crowd_bt` is app.quality's fit over the whole campaign."""
    if model == "crowd_bt":
        from app.quality.service import annotator_weights

        return annotator_weights(session, campaign=campaign, model="crowd_bt")
    comparison, annotator, label = _arrays(session, campaign=campaign, max_vote_id=max_vote_id)
    if len(label) == 0:
        return {}
    coders, coder = np.unique(annotator, return_inverse=True)
    _, item = np.unique(comparison, return_inverse=True)
    fit = reliability.dawid_skene(item, coder, label, n_classes=len(LABELS))
    return {int(c): float(w) for c, w in zip(coders, fit.weights, strict=True)}
