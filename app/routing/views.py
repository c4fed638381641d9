"""HTML page for a campaign's routing: the plan's form, the fit button, and the agreement dashboard."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.campaigns import service as campaigns_service
from app.deps import Researcher, SessionDep
from app.judging import service as judging_service
from app.routing import flows, service
from app.routing.schemas import PlanCreate
from app.web import FormFields, form_errors, redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/campaigns/{slug}/routing")
def routing_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    """The whole page, or the dashboard alone for htmx (it polls while a fit runs)."""
    campaign = campaigns_service.get_campaign(session, slug=slug)
    plan = service.find_plan(session, campaign=campaign)
    context = {
        "user": user,
        "campaign": campaign,
        "judges": judging_service.list_judges(session, campaign=campaign),
        "routing": service.dashboard(session, plan=plan) if plan else None,
    }
    return render(request, "routing/page.html", context, fragment="routing/_dashboard.html")


@router.post("/campaigns/{slug}/routing")
def plan_from_form(
    request: Request, slug: str, session: SessionDep, user: Researcher, fields: FormFields
) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    names = ("judge", "human_budget", "alpha", "calibration_size")
    try:
        data = PlanCreate.model_validate({name: fields[name] for name in names if fields.get(name)})
    except ValidationError as exc:
        raise form_errors(exc) from exc
    service.save_plan(session, campaign=campaign, data=data, user=user)
    return redirect(request, f"/campaigns/{slug}/routing")


@router.post("/campaigns/{slug}/routing/fit")
def fit_from_form(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    job = flows.start_fit(session, plan=service.get_plan(session, campaign=campaign), user=user)
    return redirect(request, f"/jobs/{job.public_id}")
