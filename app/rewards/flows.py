"""Starting reward-model jobs (commit, then queue), shared by the API and the pages."""

from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.errors import Invalid
from app.jobs import flows
from app.jobs.models import Job
from app.rewards import training_data
from app.rewards.models import RewardModel
from app.rewards.schemas import TrainRequest
from app.rewards.service import SCORE_TASK, TRAIN_TASK


def start_training(session: Session, *, campaign: Campaign, request: TrainRequest, user: User | None) -> Job:
    if request.head != "bt" and not training_data.has_ratings(session, campaign=campaign):
        raise Invalid(
            f"the {request.head} head trains on per-aspect ratings, and this campaign's votes have none; "
            "use head 'bt', or collect ratings with a rubric (a pairwise campaign with a rubric gives both)",
            field="head",
        )
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
