"""Starting reward-model jobs (commit, then queue), shared by the API and the pages."""

from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.jobs import flows
from app.jobs.models import Job
from app.rewards.models import RewardModel
from app.rewards.schemas import TrainRequest
from app.rewards.service import SCORE_TASK, TRAIN_TASK


def start_training(session: Session, *, campaign: Campaign, request: TrainRequest, user: User | None) -> Job:
    return flows.submit_job(
        session,
        kind=TRAIN_TASK,
        params=request.model_dump(exclude={"queue"}),
        queue=request.queue,
        campaign=campaign,
        created_by=user,
    )


def start_scoring(session: Session, *, model: RewardModel, user: User | None) -> Job:
    """Scores every candidate of the model's campaign with this version."""
    return flows.submit_job(
        session,
        kind=SCORE_TASK,
        params={"reward_model": model.public_id},
        queue="cpu",
        campaign=session.get(Campaign, model.campaign_id),
        created_by=user,
    )
