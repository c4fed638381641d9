"""JSON API for a campaign's rubric: read the current version, change it, list every version."""

from fastapi import APIRouter

from app.campaigns.dependencies import CampaignDep
from app.deps import Annotator, Researcher, SessionDep
from app.errors import NotFound
from app.tasks import service
from app.tasks.schemas import RubricRead, RubricSpec

router = APIRouter(prefix="/api/v1/campaigns", tags=["rubrics"])


@router.get("/{slug}/rubric", response_model=RubricRead)
def read_rubric(campaign: CampaignDep, session: SessionDep, user: Annotator) -> RubricRead:
    rubric = service.current_rubric(session, campaign_id=campaign.id)
    if rubric is None:
        raise NotFound(f"campaign '{campaign.slug}' has no rubric")
    return service.rubric_read(session, rubric=rubric)


@router.put("/{slug}/rubric", response_model=RubricRead)
def put_rubric(spec: RubricSpec, campaign: CampaignDep, session: SessionDep, user: Researcher) -> RubricRead:
    """Edits the current version while no vote used it; after that, the change is a new version."""
    rubric = service.set_rubric(session, campaign=campaign, spec=spec)
    return service.rubric_read(session, rubric=rubric)


@router.get("/{slug}/rubric/versions", response_model=list[RubricRead])
def rubric_versions(campaign: CampaignDep, session: SessionDep, user: Researcher) -> list[RubricRead]:
    return [
        service.rubric_read(session, rubric=r)
        for r in service.rubric_versions(session, campaign_id=campaign.id)
    ]
