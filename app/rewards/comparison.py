"""Two versions of a campaign's reward model side by side: what changed in their data and config, how
their held-out metrics moved, how often each agrees with the human votes, and how alike they score."""

import math

from scipy.stats import spearmanr
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from app.auth.models import User, UserKind
from app.errors import Invalid
from app.rewards import service
from app.rewards.models import CandidateScore, RewardModel
from app.rewards.schemas import ConfigChange, VersionComparison, VoteAgreement
from app.voting.models import Outcome, Vote

_winner_score, _loser_score = aliased(CandidateScore), aliased(CandidateScore)
_score_a, _score_b = aliased(CandidateScore), aliased(CandidateScore)


def compare(session: Session, *, a: RewardModel, b: RewardModel) -> VersionComparison:
    if a.campaign_id != b.campaign_id:
        raise Invalid("the two versions belong to different campaigns; compare versions of one campaign")
    read_a, read_b = service.to_read(session, a), service.to_read(session, b)
    keys = sorted(set(a.config) | set(b.config))
    changes = [
        ConfigChange(key=k, a=a.config.get(k), b=b.config.get(k))
        for k in keys
        if a.config.get(k) != b.config.get(k)
    ]
    deltas = {
        name: float(b.metrics[name]) - float(a.metrics[name])
        for name in sorted(set(a.metrics) & set(b.metrics))
        if _is_number(a.metrics[name]) and _is_number(b.metrics[name])
    }
    correlation, n_common = _score_correlation(session, a=a, b=b)
    return VersionComparison(
        a=read_a,
        b=read_b,
        same_data=_same_data(a, b),
        config_changes=changes,
        metric_deltas=deltas,
        agreement_a=vote_agreement(session, model=a),
        agreement_b=vote_agreement(session, model=b),
        score_correlation=correlation,
        n_scored_by_both=n_common,
    )


def vote_agreement(session: Session, *, model: RewardModel) -> VoteAgreement:
    """Counted in the database: one row per vote would be a lot to ship for a large campaign."""
    agrees = case(
        (_winner_score.score > _loser_score.score, 1.0),
        (_winner_score.score == _loser_score.score, 0.5),
        else_=0.0,
    )
    since = Vote.created_at > model.created_at
    row = session.execute(
        select(
            func.count(),
            func.sum(agrees),
            func.sum(case((since, 1), else_=0)),
            func.sum(case((since, agrees), else_=0.0)),
        )
        .select_from(Vote)
        .join(
            _winner_score,
            and_(
                _winner_score.candidate_id == Vote.winner_candidate_id,
                _winner_score.reward_model_id == model.id,
            ),
        )
        .join(
            _loser_score,
            and_(
                _loser_score.candidate_id == Vote.loser_candidate_id, _loser_score.reward_model_id == model.id
            ),
        )
        .join(User, User.id == Vote.annotator_id)
        .where(
            Vote.campaign_id == model.campaign_id,
            Vote.outcome == Outcome.preference,
            User.kind == UserKind.human,
        )
    ).one()
    n_all, agreed_all = int(row[0] or 0), float(row[1] or 0)
    n_since, agreed_since = int(row[2] or 0), float(row[3] or 0)
    return VoteAgreement(
        all_votes=agreed_all / n_all if n_all else None,
        n_all=n_all,
        since_training=agreed_since / n_since if n_since else None,
        n_since=n_since,
    )


def _score_correlation(session: Session, *, a: RewardModel, b: RewardModel) -> tuple[float | None, int]:
    pairs = session.execute(
        select(_score_a.score, _score_b.score)
        .join(_score_b, _score_b.candidate_id == _score_a.candidate_id)
        .where(_score_a.reward_model_id == a.id, _score_b.reward_model_id == b.id)
    ).all()
    if len(pairs) < 3:
        return None, len(pairs)
    rho = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
    return (None if math.isnan(rho) else float(rho)), len(pairs)


def _same_data(a: RewardModel, b: RewardModel) -> bool:
    digest = a.data_snapshot.get("sha256")
    return bool(digest) and digest == b.data_snapshot.get("sha256")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
