"""The reward-model registry: versions per campaign, the active one, and the scores it gave."""

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.errors import NotFound
from app.items.models import Candidate, Item
from app.jobs.models import Job
from app.rewards.models import CandidateScore, RewardModel
from app.rewards.schemas import CandidateScoreRead, RewardModelRead

# The Celery tasks that do the work (workers/tasks/rewards.py).
TRAIN_TASK = "preflab.rewards.train"
SCORE_TASK = "preflab.rewards.score"


def record_version(
    session: Session,
    *,
    campaign_id: int,
    job: Job | None,
    config: dict[str, Any],
    data_snapshot: dict[str, Any],
    metrics: dict[str, Any],
    curve: list[dict[str, Any]],
    artifact_path: str,
) -> RewardModel:
    """Stores a trained version; a rerun of the same job updates its row rather than adding one."""
    existing = None
    if job is not None:
        existing = session.scalar(select(RewardModel).where(RewardModel.job_id == job.id))
    if existing is None:
        version = (
            session.scalar(
                select(func.max(RewardModel.version)).where(RewardModel.campaign_id == campaign_id)
            )
            or 0
        ) + 1
        existing = RewardModel(
            campaign_id=campaign_id,
            version=version,
            job_id=job.id if job else None,
            created_by_id=job.created_by_id if job else None,
            artifact_path=artifact_path,
        )
        session.add(existing)
    existing.config, existing.data_snapshot = config, data_snapshot
    existing.metrics, existing.curve, existing.artifact_path = metrics, curve, artifact_path
    session.flush()
    return existing


def list_versions(session: Session, *, campaign: Campaign) -> list[RewardModel]:
    return list(
        session.scalars(
            select(RewardModel)
            .where(RewardModel.campaign_id == campaign.id)
            .order_by(RewardModel.version.desc())
        )
    )


def get_version(session: Session, *, public_id: str) -> RewardModel:
    model = session.scalar(select(RewardModel).where(RewardModel.public_id == public_id))
    if model is None:
        raise NotFound(f"no reward model '{public_id}'")
    return model


def active_version(session: Session, *, campaign_id: int) -> RewardModel | None:
    return session.scalar(
        select(RewardModel).where(RewardModel.campaign_id == campaign_id, RewardModel.is_active.is_(True))
    )


def activate(session: Session, *, model: RewardModel) -> RewardModel:
    """Makes this version the campaign's active one (the one that scores new candidates)."""
    session.execute(
        update(RewardModel)
        .where(RewardModel.campaign_id == model.campaign_id, RewardModel.id != model.id)
        .values(is_active=False)
    )
    session.flush()
    model.is_active = True
    session.flush()
    return model


def store_scores(session: Session, *, model: RewardModel, scores: dict[int, float]) -> int:
    """Replaces this model's scores for these candidates (a rerun of a scoring job overwrites)."""
    ids = list(scores)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        session.execute(
            delete(CandidateScore).where(
                CandidateScore.reward_model_id == model.id, CandidateScore.candidate_id.in_(chunk)
            )
        )
        session.execute(
            insert(CandidateScore),
            [{"reward_model_id": model.id, "candidate_id": c, "score": float(scores[c])} for c in chunk],
        )
    return len(ids)


def list_scores(
    session: Session, *, model: RewardModel, limit: int = 500, offset: int = 0
) -> list[CandidateScoreRead]:
    rows = session.execute(
        select(Candidate.public_id, Item.external_id, Candidate.system, CandidateScore.score)
        .join(Candidate, Candidate.id == CandidateScore.candidate_id)
        .join(Item, Item.id == Candidate.item_id)
        .where(CandidateScore.reward_model_id == model.id)
        .order_by(Item.id, CandidateScore.score.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [CandidateScoreRead(candidate_id=c, item_id=i, system=s, score=v) for c, i, s, v in rows]


def scores_for_candidates(
    session: Session, *, campaign_id: int, candidate_ids: list[int]
) -> dict[int, float]:
    """The active model's scores for these candidates (for selection and routing); {} without one."""
    model = active_version(session, campaign_id=campaign_id)
    if model is None or not candidate_ids:
        return {}
    rows = session.execute(
        select(CandidateScore.candidate_id, CandidateScore.score).where(
            CandidateScore.reward_model_id == model.id, CandidateScore.candidate_id.in_(candidate_ids)
        )
    ).all()
    return dict(rows)


def to_read(session: Session, model: RewardModel) -> RewardModelRead:
    read = RewardModelRead.model_validate(model)
    campaign = session.get(Campaign, model.campaign_id)
    read.campaign = campaign.slug if campaign else ""
    return read
