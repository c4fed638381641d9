"""HTML pages for reward models: a campaign's versions, a training form, activate, score."""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.campaigns import service as campaigns_service
from app.campaigns.models import Campaign
from app.deps import Researcher, SessionDep
from app.errors import NotFound
from app.jobs import curve
from app.rewards import comparison, flows, service, training_data
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
    context = {
        "user": user,
        "campaign": campaign,
        "versions": versions,
        "active": active,
        "scores": scores,
        "n_model_votes": training_data.preference_votes_by_kind(session, campaign=campaign)["model"],
    }
    return render(request, "rewards/page.html", context)


@router.get("/campaigns/{slug}/reward-models/compare")
def compare_page(
    request: Request,
    slug: str,
    session: SessionDep,
    user: Researcher,
    a: Annotated[str, Query(min_length=1, max_length=40)],
    b: Annotated[str, Query(min_length=1, max_length=40)],
) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    model_a, model_b = service.get_version(session, public_id=a), service.get_version(session, public_id=b)
    if campaign.id not in (model_a.campaign_id, model_b.campaign_id):
        raise NotFound(f"campaign '{slug}' has no such versions")
    result = comparison.compare(session, a=model_a, b=model_b)
    charts = curve.overlay([(f"v{model_a.version}", model_a.curve), (f"v{model_b.version}", model_b.curve)])
    context = {
        "user": user,
        "campaign": campaign,
        "cmp": result,
        "charts": charts,
        "svg": curve,
        # n (held-out pairs) is already in the data table.
        "metric_names": sorted((set(result.a.metrics) | set(result.b.metrics)) - {"n"}),
    }
    return render(request, "rewards/compare.html", context)


@router.post("/campaigns/{slug}/reward-models")
def train_from_form(
    request: Request,
    slug: str,
    session: SessionDep,
    user: Researcher,
    encoder: Annotated[str, Form()] = "hashing",
    encoder_path: Annotated[str, Form()] = "",
    head: Annotated[str, Form()] = "bt",
    epochs: Annotated[int, Form()] = 8,
    seed: Annotated[int, Form()] = 0,
    weight_by_strength: Annotated[bool, Form()] = False,
    include_judge: Annotated[bool, Form()] = False,
    judge_weight: Annotated[float, Form()] = 0.5,
    lora: Annotated[bool, Form()] = False,
    queue: Annotated[str, Form()] = "cpu",
) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    try:
        data = TrainRequest.model_validate(
            {
                # "path" in the list means: the local model directory typed beside it.
                "encoder": encoder_path.strip() if encoder == "path" else encoder,
                "head": head,
                "epochs": epochs,
                "seed": seed,
                "weight_by_strength": weight_by_strength,
                "include_judge": include_judge,
                "judge_weight": judge_weight,
                "lora": lora,
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
