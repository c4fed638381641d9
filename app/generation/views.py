"""HTML page for generation jobs: systems with their providers, samples and sampling parameters."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.campaigns import service as campaigns_service
from app.deps import Researcher, SessionDep
from app.generation import flows
from app.generation import form as form_parsing
from app.web import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/campaigns/{slug}/generate")
def generate_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    context = {"user": user, "campaign": campaign, "rows": range(form_parsing.MAX_ROWS)}
    return render(request, "generation/page.html", context)


async def _form_fields(request: Request) -> dict[str, str]:
    # Read in the event loop; the route itself stays sync, so its database work runs off the loop.
    return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}


@router.post("/campaigns/{slug}/generate")
def generate_from_form(
    request: Request,
    slug: str,
    session: SessionDep,
    user: Researcher,
    fields: Annotated[dict[str, str], Depends(_form_fields)],
) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    data = form_parsing.parse(fields)
    job = flows.start_generation(session, campaign=campaign, request=data, user=user)
    return redirect(request, f"/jobs/{job.public_id}")
