"""JSON API for selection jobs: order a campaign's open comparisons for reward-model data now."""

from fastapi import APIRouter, status

from app.campaigns.dependencies import CampaignDep
from app.deps import Researcher, SessionDep
from app.jobs import service as jobs_service
from app.jobs.schemas import JobRead
from app.selection import flows

router = APIRouter(prefix="/api/v1/campaigns", tags=["selection"])


@router.post("/{slug}/selection/prioritise", status_code=status.HTTP_202_ACCEPTED, response_model=JobRead)
def prioritise(campaign: CampaignDep, session: SessionDep, user: Researcher) -> JobRead:
    """A job that orders the open comparisons by what a label would teach the active reward model."""
    job = flows.start_prioritising(session, campaign=campaign, user=user)
    return jobs_service.to_read(session, job)
