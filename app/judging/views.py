"""HTML page for a campaign's LM judges: create one, edit its prompt, run it, read its judgements."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.campaigns import service as campaigns_service
from app.deps import Researcher, SessionDep
from app.judging import flows, service
from app.judging.schemas import JudgeCreate, RunRequest
from app.web import FormFields, form_errors, redirect, render

router = APIRouter(include_in_schema=False)
SHOWN_JUDGEMENTS = 50


@router.get("/campaigns/{slug}/judges")
def judges_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    judges = [
        {
            "judge": service.to_read(session, judge),
            "prompts": [
                service.prompt_read(session, prompt=p) for p in service.prompt_versions(session, judge=judge)
            ],
            "page": service.list_judgements(session, judge=judge, limit=SHOWN_JUDGEMENTS),
        }
        for judge in service.list_judges(session, campaign=campaign)
    ]
    return render(request, "judging/page.html", {"user": user, "campaign": campaign, "judges": judges})


def _provider(fields: dict[str, str]) -> dict[str, object]:
    kind = fields.get("kind", "openai")
    if kind == "reward_model":
        provider: dict[str, object] = {"kind": kind, "tie_margin": fields.get("tie_margin") or 0}
        if fields.get("reward_model"):
            provider["reward_model"] = fields["reward_model"]
        return provider
    provider = {"kind": kind, "base_url": fields.get("base_url", ""), "model": fields.get("model", "")}
    if fields.get("api_key_env"):
        provider["api_key_env"] = fields["api_key_env"]
    return provider


@router.post("/campaigns/{slug}/judges")
def create_from_form(
    request: Request, slug: str, session: SessionDep, user: Researcher, fields: FormFields
) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    data = {"name": fields.get("name", ""), "provider": _provider(fields)}
    if fields.get("template", "").strip():
        data["template"] = fields["template"]
    try:
        create = JudgeCreate.model_validate(data)
    except ValidationError as exc:
        raise form_errors(exc) from exc
    service.create_judge(session, campaign=campaign, data=create, created_by=user)
    return redirect(request, f"/campaigns/{slug}/judges")


@router.post("/campaigns/{slug}/judges/{judge_id}/prompt")
def prompt_from_form(
    request: Request, slug: str, judge_id: str, session: SessionDep, user: Researcher, fields: FormFields
) -> Response:
    judge = service.get_judge(session, public_id=judge_id)
    service.set_prompt(session, judge=judge, template=fields.get("template", ""))
    return redirect(request, f"/campaigns/{slug}/judges")


@router.post("/campaigns/{slug}/judges/{judge_id}/run")
def run_from_form(
    request: Request, slug: str, judge_id: str, session: SessionDep, user: Researcher, fields: FormFields
) -> Response:
    judge = service.get_judge(session, public_id=judge_id)
    try:
        run = RunRequest.model_validate({"limit": fields.get("limit") or None})
    except ValidationError as exc:
        raise form_errors(exc) from exc
    job = flows.start_run(session, judge=judge, request=run, user=user)
    return redirect(request, f"/jobs/{job.public_id}")
