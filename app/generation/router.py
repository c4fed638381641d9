"""JSON API for generation jobs: make candidates for a campaign's items with chosen systems."""

from fastapi import APIRouter, status

from app.campaigns.dependencies import CampaignDep
from app.deps import Researcher, SessionDep
from app.generation import flows
from app.generation.requests import GenerateRequest
from app.jobs import service as jobs_service
from app.jobs.schemas import JobRead

router = APIRouter(prefix="/api/v1", tags=["generation"])


@router.post("/campaigns/{slug}/generate", status_code=status.HTTP_202_ACCEPTED, response_model=JobRead)
def generate_candidates(
    data: GenerateRequest, campaign: CampaignDep, session: SessionDep, user: Researcher
) -> JobRead:
    """Starts a job: for each item x system, `params.n` samples; new candidates are paired with the
    item's others as comparisons. Outputs an item already has are dropped."""
    job = flows.start_generation(session, campaign=campaign, request=data, user=user)
    return jobs_service.to_read(session, job)
