"""Annotator reliability weights for the `votes` format, fitted on a release's snapshot.

Dawid-Skene (app.quality.reliability) on the A/B votes with id <= the boundary, read as three integer
arrays filled batch by batch (app.exports.outcomes): a million votes take about 24 MB here, where
app.quality.service's loader (built for the quality page's many measures) holds Python lists of every
column; app.quality.service (and scipy.stats with it) is imported only for `crowd_bt`. Fitting on
the snapshot, not the whole campaign, also keeps a release's bytes a function of its votes.
"""

from typing import Literal

import numpy as np
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.exports.outcomes import BOTH_BAD, outcome_arrays
from app.quality import reliability


def snapshot_weights(
    session: Session,
    *,
    campaign: Campaign,
    max_vote_id: int | None,
    model: Literal["dawid_skene", "crowd_bt"] = "dawid_skene",
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> dict[int, float]:
    """Weight in [0, 1] per annotator id. `crowd_bt` is app.quality's fit over the whole campaign.
    `arrays`: outcome_arrays of this snapshot when the caller has read them already."""
    if model == "crowd_bt":
        from app.quality.service import annotator_weights

        return annotator_weights(session, campaign=campaign, model="crowd_bt")
    if arrays is None:
        arrays = outcome_arrays(session, campaign=campaign, max_vote_id=max_vote_id)
    comparison, annotator, code = arrays
    if len(code) == 0:
        return {}
    # app.quality's four labels (first, second, tie, both bad): a preference for neither candidate
    # counts as both bad there.
    label = np.minimum(code, BOTH_BAD)
    coders, coder = np.unique(annotator, return_inverse=True)
    _, item = np.unique(comparison, return_inverse=True)
    fit = reliability.dawid_skene(item, coder, label, n_classes=BOTH_BAD + 1)
    return {int(c): float(w) for c, w in zip(coders, fit.weights, strict=True)}
