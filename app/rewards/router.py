"""JSON API for reward models: train from a campaign's votes, list versions, activate, score."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.campaigns.dependencies import CampaignDep
from app.deps import Researcher, SessionDep
from app.jobs import service as jobs_service
from app.jobs.schemas import JobRead
from app.rewards import comparison, flows, service
from app.rewards.schemas import CandidateScoreRead, RewardModelRead, TrainRequest, VersionComparison

router = APIRouter(prefix="/api/v1", tags=["reward models"])


@router.post("/campaigns/{slug}/reward-models", status_code=status.HTTP_202_ACCEPTED, response_model=JobRead)
def train_reward_model(
    data: TrainRequest, campaign: CampaignDep, session: SessionDep, user: Researcher
) -> JobRead:
    """Starts a training job on the campaign's votes; the new version appears when it succeeds."""
    job = flows.start_training(session, campaign=campaign, request=data, user=user)
    return jobs_service.to_read(session, job)


@router.get("/campaigns/{slug}/reward-models", response_model=list[RewardModelRead])
def list_reward_models(campaign: CampaignDep, session: SessionDep, user: Researcher) -> list[RewardModelRead]:
    return [service.to_read(session, m) for m in service.list_versions(session, campaign=campaign)]


@router.get("/reward-models/{model_id}", response_model=RewardModelRead)
def read_reward_model(model_id: str, session: SessionDep, user: Researcher) -> RewardModelRead:
    return service.to_read(session, service.get_version(session, public_id=model_id))


@router.post("/reward-models/{model_id}/activate", response_model=RewardModelRead)
def activate_reward_model(model_id: str, session: SessionDep, user: Researcher) -> RewardModelRead:
    model = service.activate(session, model=service.get_version(session, public_id=model_id))
    return service.to_read(session, model)


@router.post("/reward-models/{model_id}/score", status_code=status.HTTP_202_ACCEPTED, response_model=JobRead)
def score_candidates(model_id: str, session: SessionDep, user: Researcher) -> JobRead:
    """Starts a job that scores every candidate of the model's campaign with this version."""
    model = service.get_version(session, public_id=model_id)
    job = flows.start_scoring(session, model=model, user=user)
    return jobs_service.to_read(session, job)


@router.get("/reward-models/{model_id}/scores", response_model=list[CandidateScoreRead])
def list_scores(
    model_id: str,
    session: SessionDep,
    user: Researcher,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CandidateScoreRead]:
    model = service.get_version(session, public_id=model_id)
    return service.list_scores(session, model=model, limit=limit, offset=offset)


@router.get("/reward-models/{model_id}/compare/{other_id}", response_model=VersionComparison)
def compare_versions(
    model_id: str, other_id: str, session: SessionDep, user: Researcher
) -> VersionComparison:
    """Version `model_id` (a) beside `other_id` (b): data, config, metric deltas (b - a), agreement
    with the human votes, and the correlation of their scores."""
    return comparison.compare(
        session,
        a=service.get_version(session, public_id=model_id),
        b=service.get_version(session, public_id=other_id),
    )
