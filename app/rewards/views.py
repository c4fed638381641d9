"""HTML pages for reward models: a campaign's versions, a training form, activate, score."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.auth.models import Role
from app.campaigns import service as campaigns_service
from app.campaigns.models import Campaign
from app.deps import OptionalUser, SessionDep, ensure_role
from app.errors import Invalid
from app.jobs import flows
from app.rewards import service
from app.rewards.schemas import TrainRequest
from app.web import login_redirect, redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/campaigns/{slug}/reward-models")
def reward_models_page(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    ensure_role(user, Role.researcher)
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
    user: OptionalUser,
    encoder: Annotated[str, Form()] = "hashing",
    head: Annotated[str, Form()] = "bt",
    epochs: Annotated[int, Form()] = 3,
    weight_by_strength: Annotated[bool, Form()] = False,
    queue: Annotated[str, Form()] = "cpu",
) -> Response:
    if user is None:
        return login_redirect(request)
    ensure_role(user, Role.researcher)
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
        raise Invalid("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc
    job = flows.submit_job(
        session,
        kind=service.TRAIN_TASK,
        params=data.model_dump(exclude={"queue"}),
        queue=data.queue,
        campaign=campaign,
        created_by=user,
    )
    return redirect(request, f"/jobs/{job.public_id}")


@router.post("/reward-models/{model_id}/activate")
def activate(request: Request, model_id: str, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    ensure_role(user, Role.researcher)
    model = service.activate(session, model=service.get_version(session, public_id=model_id))
    campaign = session.get_one(Campaign, model.campaign_id)
    return redirect(request, f"/campaigns/{campaign.slug}/reward-models")


@router.post("/reward-models/{model_id}/score")
def score(request: Request, model_id: str, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    ensure_role(user, Role.researcher)
    model = service.get_version(session, public_id=model_id)
    job = flows.submit_job(
        session,
        kind=service.SCORE_TASK,
        params={"reward_model": model.public_id},
        queue="cpu",
        campaign=session.get_one(Campaign, model.campaign_id),
        created_by=user,
    )
    return redirect(request, f"/jobs/{job.public_id}")
