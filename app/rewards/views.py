"""HTML pages for reward models: a campaign's versions, a training form, activate, score."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.campaigns import service as campaigns_service
from app.campaigns.models import Campaign
from app.deps import Researcher, SessionDep
from app.rewards import flows, service
from app.rewards.schemas import TrainRequest
from app.web import form_errors, redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/campaigns/{slug}/reward-models")
def reward_models_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    versions = [service.to_read(session, m) for m in service.list_versions(session, campaign=campaign)]
    active = next((v for v in versions if v.is_active), None)
    scores = (
        service.list_scores(session, model=service.get_version(session, public_id=active.id), limit=50)
        if active
        else []
    )
    context = {"user": user, "campaign": campaign, "versions": versions, "active": active, "scores": scores}
    return render(request, "rewards/page.html", context)


@router.post("/campaigns/{slug}/reward-models")
def train_from_form(
    request: Request,
    slug: str,
    session: SessionDep,
    user: Researcher,
    encoder: Annotated[str, Form()] = "hashing",
    head: Annotated[str, Form()] = "bt",
    epochs: Annotated[int, Form()] = 3,
    weight_by_strength: Annotated[bool, Form()] = False,
    queue: Annotated[str, Form()] = "cpu",
) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    try:
        data = TrainRequest.model_validate(
            {
                "encoder": encoder,
                "head": head,
                "epochs": epochs,
                "weight_by_strength": weight_by_strength,
                "queue": queue,
            }
        )
    except ValidationError as exc:
        raise form_errors(exc) from exc
    job = flows.start_training(session, campaign=campaign, request=data, user=user)
    return redirect(request, f"/jobs/{job.public_id}")


@router.post("/reward-models/{model_id}/activate")
def activate(request: Request, model_id: str, session: SessionDep, user: Researcher) -> Response:
    model = service.activate(session, model=service.get_version(session, public_id=model_id))
    campaign = session.get_one(Campaign, model.campaign_id)
    return redirect(request, f"/campaigns/{campaign.slug}/reward-models")


@router.post("/reward-models/{model_id}/score")
def score(request: Request, model_id: str, session: SessionDep, user: Researcher) -> Response:
    model = service.get_version(session, public_id=model_id)
    job = flows.start_scoring(session, model=model, user=user)
    return redirect(request, f"/jobs/{job.public_id}")
