"""HTML page of a campaign's quality control: the settings form and the annotators' standing, with a
resume button for admins."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.campaigns import service as campaigns_service
from app.campaigns.models import Campaign
from app.deps import Admin, Researcher, SessionDep
from app.qc import service
from app.qc.schemas import QualityConfig
from app.web import FormFields, form_errors, redirect, render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: Session,
    *,
    campaign: Campaign,
    user: User,
    problem: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "user": user,
        "campaign": campaign,
        "summary": service.summary(session, campaign=campaign),
        "annotators": service.list_annotators(session, campaign=campaign),
        "can_resume": user.role.at_least(Role.admin),
        "problem": problem,
        "form": form or {},
    }
    return render(request, "qc/page.html", context, status=status)


@router.get("/campaigns/{slug}/quality-control")
def quality_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    return _page(request, session, campaign=campaign, user=user)


def config_from_form(fields: dict[str, str]) -> QualityConfig:
    """The form's fields as settings: empty numbers mean "not set" (no pause rule, no quota)."""

    def number(name: str) -> str | None:
        value = fields.get(name, "").strip()
        return value or None

    data: dict[str, object] = {
        "gold_rate": number("gold_rate") or 0,
        "min_gold_accuracy": number("min_gold_accuracy"),
        "min_gold_answers": number("min_gold_answers") or 5,
        "qualification_required": fields.get("qualification_required") == "on",
        "qualification_min_accuracy": number("qualification_min_accuracy") or 0.8,
        "quota": number("quota"),
    }
    for name in ("pause_message", "qualification_message"):
        if fields.get(name, "").strip():
            data[name] = fields[name].strip()
    return QualityConfig.model_validate(data)


@router.post("/campaigns/{slug}/quality-control")
def save_settings(
    request: Request, slug: str, session: SessionDep, user: Researcher, fields: FormFields
) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    try:
        config = config_from_form(fields)
    except ValidationError as exc:
        problem = form_errors(exc).message
        return _page(request, session, campaign=campaign, user=user, problem=problem, form=fields, status=422)
    service.set_config(session, campaign=campaign, config=config, by=user)
    return redirect(request, f"/campaigns/{campaign.slug}/quality-control")


@router.post("/campaigns/{slug}/quality-control/annotators/{pseudonym}/resume")
def resume(request: Request, slug: str, pseudonym: str, session: SessionDep, user: Admin) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    service.resume(session, campaign=campaign, pseudonym=pseudonym, by=user)
    return redirect(request, f"/campaigns/{campaign.slug}/quality-control")
