"""HTML page for generation jobs: pick a system and its provider, samples and sampling parameters."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.campaigns import service as campaigns_service
from app.deps import Researcher, SessionDep
from app.generation import flows
from app.generation.requests import GenerateRequest
from app.web import form_errors, redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/campaigns/{slug}/generate")
def generate_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    return render(request, "generation/page.html", {"user": user, "campaign": campaign})


@router.post("/campaigns/{slug}/generate")
def generate_from_form(
    request: Request,
    slug: str,
    session: SessionDep,
    user: Researcher,
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
        raise form_errors(exc) from exc
    job = flows.start_generation(session, campaign=campaign, request=data, user=user)
    return redirect(request, f"/jobs/{job.public_id}")
