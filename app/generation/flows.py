"""Starting generation jobs (commit, then queue), shared by the API and the page."""

from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.generation.requests import GENERATE_TASK, GenerateRequest
from app.jobs import flows
from app.jobs.models import Job


def start_generation(
    session: Session, *, campaign: Campaign, request: GenerateRequest, user: User | None
) -> Job:
    return flows.submit_job(
        session,
        kind=GENERATE_TASK,
        params=request.model_dump(mode="json", exclude={"queue"}),
        queue=request.queue,
        campaign=campaign,
        created_by=user,
    )
