"""JSON API for campaigns."""

from fastapi import APIRouter, Response, status

from app.auth.models import Role
from app.campaigns import service
from app.campaigns.dependencies import CampaignDep
from app.campaigns.models import CampaignStatus
from app.campaigns.schemas import CampaignCreate, CampaignProgress, CampaignRead, CampaignUpdate
from app.deps import Annotator, Researcher, SessionDep
from app.errors import NotFound
from app.selection import flows as selection_flows
from app.selection.config import prioritises_reward_data, selection_config

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CampaignRead)
def create_campaign(data: CampaignCreate, session: SessionDep, user: Researcher) -> CampaignRead:
    return CampaignRead.model_validate(service.create_campaign(session, data=data, created_by=user))


@router.get("", response_model=list[CampaignRead])
def list_campaigns(session: SessionDep, user: Annotator) -> list[CampaignRead]:
    """Researchers see every campaign; annotators only the active ones."""
    statuses = None if user.role.at_least(Role.researcher) else [CampaignStatus.active]
    return [CampaignRead.model_validate(c) for c in service.list_campaigns(session, statuses=statuses)]


@router.get("/{slug}", response_model=CampaignRead)
def read_campaign(campaign: CampaignDep, user: Annotator) -> CampaignRead:
    if campaign.status == CampaignStatus.draft and not user.role.at_least(Role.researcher):
        raise NotFound(f"no campaign '{campaign.slug}'")
    return CampaignRead.model_validate(campaign)


@router.patch("/{slug}", response_model=CampaignRead)
def update_campaign(
    data: CampaignUpdate, campaign: CampaignDep, session: SessionDep, user: Researcher
) -> CampaignRead:
    was = selection_config(campaign)
    updated = service.update_campaign(session, campaign=campaign, data=data)
    now = selection_config(updated)
    if prioritises_reward_data(now) and now != was:
        # The order of the open comparisons follows the new settings from the first lease on.
        selection_flows.start_prioritising(session, campaign=updated, user=user)
    return CampaignRead.model_validate(updated)


@router.delete("/{slug}", status_code=status.HTTP_204_NO_CONTENT)
def delete_campaign(campaign: CampaignDep, session: SessionDep, user: Researcher) -> Response:
    service.delete_campaign(session, campaign=campaign)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{slug}/progress", response_model=CampaignProgress)
def campaign_progress(campaign: CampaignDep, session: SessionDep, user: Researcher) -> CampaignProgress:
    return service.campaign_progress(session, campaign=campaign)
