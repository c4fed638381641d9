"""HTML page for generation jobs: pick a system and its provider, samples and sampling parameters."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.auth.models import Role
from app.campaigns import service as campaigns_service
from app.deps import OptionalUser, SessionDep, ensure_role
from app.errors import Invalid
from app.generation.requests import GENERATE_TASK, GenerateRequest
from app.jobs import flows
from app.web import login_redirect, redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/campaigns/{slug}/generate")
def generate_page(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    ensure_role(user, Role.researcher)
    campaign = campaigns_service.get_campaign(session, slug=slug)
    return render(request, "generation/page.html", {"user": user, "campaign": campaign})


@router.post("/campaigns/{slug}/generate")
def generate_from_form(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    system: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "openai",
    base_url: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    api_key_env: Annotated[str, Form()] = "",
    path: Annotated[str, Form()] = "",
    samples: Annotated[int, Form()] = 1,
    max_tokens: Annotated[int, Form()] = 256,
    temperature: Annotated[float, Form()] = 0.7,
    queue: Annotated[str, Form()] = "cpu",
) -> Response:
    if user is None:
        return login_redirect(request)
    ensure_role(user, Role.researcher)
    campaign = campaigns_service.get_campaign(session, slug=slug)
    if kind == "openai":
        provider = {
            "kind": "openai",
            "base_url": base_url,
            "model": model,
            "api_key_env": api_key_env or None,
        }
    else:
        provider = {"kind": "transformers", "path": path}
    try:
        data = GenerateRequest.model_validate(
            {
                "systems": [{"name": system, "provider": provider}],
                "params": {"n": samples, "max_tokens": max_tokens, "temperature": temperature},
                "queue": queue,
            }
        )
    except ValidationError as exc:
        raise Invalid("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc
    job = flows.submit_job(
        session,
        kind=GENERATE_TASK,
        params=data.model_dump(mode="json", exclude={"queue"}),
        queue=data.queue,
        campaign=campaign,
        created_by=user,
    )
    return redirect(request, f"/jobs/{job.public_id}")
