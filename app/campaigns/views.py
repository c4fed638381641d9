"""HTML pages: the active campaigns an annotator can work on, with their progress."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.campaigns import service
from app.campaigns.models import CampaignStatus
from app.deps import OptionalUser, SessionDep
from app.voting.service import annotator_progress
from app.web import login_redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/campaigns")
def campaign_list(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    rows = [
        (campaign, *annotator_progress(session, campaign=campaign, annotator=user))
        for campaign in service.list_campaigns(session, statuses=[CampaignStatus.active])
    ]
    return render(request, "campaigns/list.html", {"user": user, "rows": rows})
