"""HTML pages: the active campaigns an annotator can work on, and a researcher's campaign setup
(a new campaign of any task kind, its rubric versions, importing items)."""

import typing
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns import form as campaign_form
from app.campaigns import service
from app.campaigns.models import Campaign, CampaignStatus, Modality, TaskKind
from app.campaigns.schemas import CampaignUpdate
from app.deps import OptionalUser, Researcher, SessionDep
from app.errors import Conflict, Invalid
from app.items import service as items_service
from app.items.schemas import ImportFormat, ImportReport
from app.selection import flows as selection_flows
from app.selection.config import prioritises_reward_data, selection_config
from app.selection.report import selection_report
from app.tasks import service as tasks_service
from app.tasks.config import task_config
from app.tasks.schemas import DEFAULT_TAXONOMY, HELPSTEER2, TaskConfig
from app.tasks.units import unit_size
from app.voting.service import annotator_progress
from app.web import FormFields, login_redirect, redirect, render

router = APIRouter(include_in_schema=False)

KIND_HELP = {
    TaskKind.pairwise: "A against B: better, tie or both bad, with strength; add a rubric to rate both too",
    TaskKind.rating: "rate outputs on the rubric's aspects (one output per task, or both of a pair)",
    TaskKind.ranking: "order all of an item's outputs, best first, ties allowed",
    TaskKind.segment: "mark text spans, or time ranges of a clip, or prefer A/B per window of two clips",
    TaskKind.checklist: "yes/no questions per output, given with each item at import",
    TaskKind.single: "thumbs up or down on one output",
}
# Large enough for a JSON Lines file of a few thousand items; bigger imports go through the CLI or API.
MAX_IMPORT_BYTES = 50 * 1024 * 1024


@router.get("/campaigns")
def campaign_list(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    rows = [
        (campaign, *annotator_progress(session, campaign=campaign, annotator=user))
        for campaign in service.list_campaigns(session, statuses=[CampaignStatus.active])
    ]
    return render(request, "campaigns/list.html", {"user": user, "rows": rows})


def _new_page(
    request: Request, user: User, *, form: dict[str, str], problem: str | None, status: int
) -> Response:
    context = {
        "user": user,
        "kinds": KIND_HELP,
        "modalities": list(Modality),
        "defaults": TaskConfig(),
        "taxonomy": ", ".join(DEFAULT_TAXONOMY),
        "aspect_rows": campaign_form.aspect_rows(
            fields=form or None, placeholders=[a.name for a in HELPSTEER2.aspects]
        ),
        "form": form,
        "problem": problem,
    }
    return render(request, "campaigns/new.html", context, status=status)


@router.get("/campaigns/new")
def new_campaign_page(request: Request, user: Researcher) -> Response:
    return _new_page(request, user, form={}, problem=None, status=200)


@router.post("/campaigns/new")
def create_campaign(
    request: Request,
    session: SessionDep,
    user: Researcher,
    fields: FormFields,
) -> Response:
    try:
        data = campaign_form.campaign_create(fields)
        with session.begin_nested():
            campaign = service.create_campaign(session, data=data, created_by=user)
    except Invalid as exc:
        return _new_page(request, user, form=fields, problem=exc.message, status=422)
    except Conflict as exc:  # the slug is taken
        return _new_page(request, user, form=fields, problem=exc.message, status=409)
    return redirect(request, f"/campaigns/{campaign.slug}/setup")


def _setup_page(
    request: Request,
    session: Session,
    *,
    campaign: Campaign,
    user: User,
    problem: str | None = None,
    report: ImportReport | None = None,
    status: int = 200,
) -> Response:
    rubrics = [
        tasks_service.rubric_read(session, rubric=r)
        for r in tasks_service.rubric_versions(session, campaign_id=campaign.id)
    ]
    context: dict[str, Any] = {
        "user": user,
        "campaign": campaign,
        "kind_help": KIND_HELP.get(campaign.task_kind, ""),
        "config": task_config(campaign),
        "rubrics": rubrics,
        "takes_rubric": campaign.task_kind in (TaskKind.rating, TaskKind.pairwise),
        "takes_selection": unit_size(campaign) == "pair",
        "selection": selection_config(campaign),
        "selection_report": selection_report(session, campaign=campaign)
        if unit_size(campaign) == "pair"
        else None,
        "aspect_rows": campaign_form.aspect_rows(aspects=rubrics[-1].aspects if rubrics else []),
        "formats": typing.get_args(ImportFormat),
        "progress": service.campaign_progress(session, campaign=campaign),
        "problem": problem,
        "report": report,
    }
    return render(request, "campaigns/setup.html", context, status=status)


@router.get("/campaigns/{slug}/setup")
def setup_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = service.get_campaign(session, slug=slug)
    return _setup_page(request, session, campaign=campaign, user=user)


@router.post("/campaigns/{slug}/setup/rubric")
def change_rubric(
    request: Request,
    slug: str,
    session: SessionDep,
    user: Researcher,
    fields: FormFields,
) -> Response:
    campaign = service.get_campaign(session, slug=slug)
    try:
        spec = campaign_form.rubric(fields)
        if spec is None:
            raise Invalid("give at least one aspect a name")
        with session.begin_nested():
            tasks_service.set_rubric(session, campaign=campaign, spec=spec)
    except Invalid as exc:
        return _setup_page(request, session, campaign=campaign, user=user, problem=exc.message, status=422)
    return redirect(request, f"/campaigns/{campaign.slug}/setup")


@router.post("/campaigns/{slug}/setup/selection")
def change_selection(
    request: Request, slug: str, session: SessionDep, user: Researcher, fields: FormFields
) -> Response:
    campaign = service.get_campaign(session, slug=slug)
    try:
        with session.begin_nested():
            service.update_campaign(
                session, campaign=campaign, data=CampaignUpdate(selection=campaign_form.selection(fields))
            )
    except Invalid as exc:
        return _setup_page(request, session, campaign=campaign, user=user, problem=exc.message, status=422)
    if prioritises_reward_data(selection_config(campaign)):
        job = selection_flows.start_prioritising(session, campaign=campaign, user=user)
        return redirect(request, f"/jobs/{job.public_id}")
    return redirect(request, f"/campaigns/{campaign.slug}/setup")


@router.post("/campaigns/{slug}/setup/prioritise")
def prioritise(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = service.get_campaign(session, slug=slug)
    job = selection_flows.start_prioritising(session, campaign=campaign, user=user)
    return redirect(request, f"/jobs/{job.public_id}")


@router.post("/campaigns/{slug}/setup/import")
def import_file(
    request: Request,
    slug: str,
    session: SessionDep,
    user: Researcher,
    file: UploadFile,
    fmt: Annotated[str, Form(max_length=40)] = "preflab",
) -> Response:
    campaign = service.get_campaign(session, slug=slug)
    chosen = fmt or "preflab"
    try:
        if chosen not in typing.get_args(ImportFormat):
            raise Invalid(f"unknown format '{chosen}'")
        raw = file.file.read(MAX_IMPORT_BYTES + 1)
        if len(raw) > MAX_IMPORT_BYTES:
            raise Invalid("the file is over 50 MB; import it with `preflab import` or the API")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("the file is not UTF-8 text") from None
        with session.begin_nested():
            report = items_service.import_items(
                session,
                campaign=campaign,
                lines=text.splitlines(),
                fmt=chosen,  # type: ignore[arg-type]
            )
    except Invalid as exc:
        return _setup_page(request, session, campaign=campaign, user=user, problem=exc.message, status=422)
    return _setup_page(request, session, campaign=campaign, user=user, report=report)
