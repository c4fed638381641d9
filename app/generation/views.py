"""HTML page for generation jobs: systems with their providers, samples and sampling parameters."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.campaigns import service as campaigns_service
from app.deps import Researcher, SessionDep
from app.generation import flows
from app.generation import form as form_parsing
from app.web import FormFields, redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/campaigns/{slug}/generate")
def generate_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    context = {"user": user, "campaign": campaign, "rows": range(form_parsing.MAX_ROWS)}
    return render(request, "generation/page.html", context)


@router.post("/campaigns/{slug}/generate")
def generate_from_form(
    request: Request,
    slug: str,
    session: SessionDep,
    user: Researcher,
    fields: FormFields,
) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    data = form_parsing.parse(fields)
    job = flows.start_generation(session, campaign=campaign, request=data, user=user)
    return redirect(request, f"/jobs/{job.public_id}")
