"""A snapshot's A/B votes as three integer arrays (comparison id, annotator id, outcome code), for the
release's reliability fit and the card's agreement.

A lean Core query on four integer columns, read batch by batch into numpy: a million votes take about
24 MB here and a second or two, where Row objects per vote took most of a release's non-writing time.
"""

from itertools import chain

import numpy as np
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.items.models import Comparison
from app.voting.models import Outcome, Vote

# The outcome relative to the comparison's own candidate order; OTHER is a preference naming neither
# candidate (not made by the voting service, kept apart so agreement counts it as its own value).
CODES = ("first", "second", "tie", "both_bad", "other")
FIRST, SECOND, TIE, BOTH_BAD, OTHER = range(len(CODES))
BATCH = 50_000


def outcome_arrays(
    session: Session, *, campaign: Campaign, max_vote_id: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(comparison ids, annotator ids, codes) of the votes with an outcome, in vote id order."""
    code = case(
        (Vote.winner_candidate_id == Comparison.candidate_a_id, FIRST),
        (Vote.winner_candidate_id == Comparison.candidate_b_id, SECOND),
        (Vote.outcome == Outcome.tie, TIE),
        (Vote.outcome == Outcome.both_bad, BOTH_BAD),
        else_=OTHER,
    )
    query = (
        select(Vote.comparison_id, Vote.annotator_id, code)
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .where(Vote.campaign_id == campaign.id, Vote.outcome.is_not(None))
        .order_by(Vote.id)
    )
    if max_vote_id is not None:
        query = query.where(Vote.id <= max_vote_id)
    # Core on the session's connection (no ORM row processing), streamed in bounded batches.
    # (yield_per on the statement, not on the connection, which would keep it for every later one.)
    result = session.connection().execute(query.execution_options(yield_per=BATCH))
    parts = [
        np.fromiter(chain.from_iterable(batch), dtype=np.int64, count=3 * len(batch))
        for batch in result.partitions()
    ]
    rows = np.concatenate(parts).reshape(-1, 3) if parts else np.empty((0, 3), dtype=np.int64)
    return rows[:, 0], rows[:, 1], rows[:, 2]
