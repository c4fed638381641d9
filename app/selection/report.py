"""What a campaign's selection has done so far, for its setup page: the systems' posterior strengths
with intervals, how the votes spread over the system pairs, and which pairs a vote is worth most on."""

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.selection.config import selection_config
from app.selection.live import systems_posterior
from app.selection.ranking import pair_index, pair_scores

Z95 = 1.959964


@dataclass(frozen=True)
class SystemStrength:
    system: str
    strength: float  # logits, centred on the mean system
    low: float
    high: float


@dataclass(frozen=True)
class SelectionReport:
    strengths: list[SystemStrength]  # strongest first
    votes: int
    pairs: int
    pairs_voted: int
    votes_per_pair: tuple[int, int, int]  # min, median, max over all system pairs
    next_pairs: list[tuple[str, str, float]]  # the pairs a vote is worth most on now, by the criterion


def selection_report(session: Session, *, campaign: Campaign, top: int = 5) -> SelectionReport | None:
    config = selection_config(campaign)
    snapshot = systems_posterior(session, campaign=campaign, max_age_s=config.refresh_s)
    if snapshot is None:
        return None
    posterior = snapshot.posterior
    mean = posterior.mean - posterior.mean.mean()
    sd = np.sqrt(np.maximum(np.diagonal(posterior.cov), 0.0))
    strengths = sorted(
        (
            SystemStrength(system, float(m), float(m - Z95 * s), float(m + Z95 * s))
            for system, m, s in zip(snapshot.systems, mean, sd, strict=True)
        ),
        key=lambda row: -row.strength,
    )
    first, second = pair_index(len(snapshot.systems))
    per_pair = posterior.votes[first, second]
    mu, variance = posterior.difference()
    value = pair_scores(mu, variance, config.criterion)
    best = np.argsort(-np.nan_to_num(value, nan=-np.inf))[:top]
    return SelectionReport(
        strengths=strengths,
        votes=int(per_pair.sum()),
        pairs=len(per_pair),
        pairs_voted=int((per_pair > 0).sum()),
        votes_per_pair=(int(per_pair.min()), int(np.median(per_pair)), int(per_pair.max())),
        next_pairs=[(snapshot.systems[first[k]], snapshot.systems[second[k]], float(value[k])) for k in best],
    )
