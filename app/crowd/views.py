"""The crowd entry URL, and the researcher's page that configures a campaign's study."""

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns import service as campaigns_service
from app.campaigns.models import Campaign
from app.crowd import service
from app.crowd.models import CrowdPlatform
from app.crowd.schemas import CrowdStudyConfig
from app.deps import SESSION_USER_KEY, Researcher, SessionDep
from app.web import FormFields, form_errors, redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/crowd/{slug}")
def crowd_entry(request: Request, slug: str, session: SessionDep) -> Response:
    """Signs the participant in as their own annotator and sends them to the task page."""
    campaign = campaigns_service.get_campaign(session, slug=slug)
    study = service.get_study(session, campaign=campaign)
    params = request.query_params
    participant = service.enter(
        session,
        campaign=campaign,
        participant_id=params.get(study.participant_param) if study else None,
        study_id=params.get(study.study_param) if study else None,
        session_id=params.get(study.session_param) if study else None,
        remote_addr=request.client.host if request.client else None,
    )
    # A new session: whoever was signed in on this browser before is not the participant.
    request.session.clear()
    request.session[SESSION_USER_KEY] = participant.user_id
    return redirect(request, f"/campaigns/{quote(campaign.slug)}/task")


def _page(
    request: Request,
    session: Session,
    *,
    campaign: Campaign,
    user: User,
    form: dict[str, Any] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    study = service.get_study(session, campaign=campaign)
    if form is None:
        form = (
            CrowdStudyConfig.model_validate(study, from_attributes=True).model_dump()
            if study
            else CrowdStudyConfig(completion_code=secrets.token_hex(4).upper()).model_dump()
        )
    context = {
        "user": user,
        "campaign": campaign,
        "study": study,
        "form": form,
        "platforms": list(CrowdPlatform),
        "entry_url": service.entry_template(study, base_url=str(request.base_url), slug=campaign.slug)
        if study
        else None,
        "participants": service.list_participants(session, campaign=campaign),
        "problem": problem,
    }
    return render(request, "crowd/study.html", context, status=status)


@router.get("/campaigns/{slug}/crowd")
def study_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    return _page(request, session, campaign=campaign, user=user)


@router.post("/campaigns/{slug}/crowd")
def save_study(
    request: Request, slug: str, session: SessionDep, user: Researcher, fields: FormFields
) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    data: dict[str, Any] = {k: v for k, v in fields.items() if k != "csrf_token"}
    data["required_votes"] = data.get("required_votes", "").strip() or None
    data["is_open"] = data.get("is_open") == "on"
    try:
        config = CrowdStudyConfig.model_validate(data)
    except ValidationError as exc:
        return _page(
            request,
            session,
            campaign=campaign,
            user=user,
            form=data,
            problem=form_errors(exc).message,
            status=422,
        )
    remote = request.client.host if request.client else None
    service.save_study(session, actor=user, campaign=campaign, config=config, remote_addr=remote)
    return redirect(request, f"/campaigns/{quote(campaign.slug)}/crowd")
