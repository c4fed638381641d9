"""Dependencies that load a campaign from the path or raise a 404."""

from typing import Annotated

from fastapi import Depends

from app.campaigns import service
from app.campaigns.models import Campaign
from app.deps import SessionDep


def valid_campaign(slug: str, session: SessionDep) -> Campaign:
    return service.get_campaign(session, slug=slug)


CampaignDep = Annotated[Campaign, Depends(valid_campaign)]
