"""The releases page of a campaign: every release with its counts, hash and files, and a form to make
a new one."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.campaigns import service as campaigns_service
from app.deps import Researcher, SessionDep
from app.errors import Invalid
from app.exports import service as exports
from app.exports.writers import FORMAT_DOCS
from app.releases import service
from app.releases.schemas import ReleaseCreate
from app.web import form_errors, redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/campaigns/{slug}/releases")
def releases_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    context = {
        "user": user,
        "campaign": campaign,
        "releases": service.list_releases(session, campaign=campaign),
        "formats": exports.formats_for(campaign),
        "format_docs": FORMAT_DOCS,
    }
    return render(request, "releases/page.html", context, fragment="releases/_list.html")


async def _form_lists(request: Request) -> dict[str, list[str]]:
    """Every text field of the posted form with all its values (checkbox groups repeat a name)."""
    form = await request.form()
    fields: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, []).append(value)
    return fields


FormLists = Annotated[dict[str, list[str]], Depends(_form_lists)]


@router.post("/campaigns/{slug}/releases")
def release_from_form(
    request: Request, slug: str, session: SessionDep, user: Researcher, fields: FormLists
) -> Response:
    filters: dict[str, object] = {"include_gold": fields.get("include_gold", [""])[0] == "on"}
    kind = fields.get("annotator_kind", [""])[0]
    if kind:
        filters["annotator_kind"] = kind
    formats = fields.get("formats", [])
    if not formats:
        raise Invalid("choose at least one format for the release", field="formats")
    try:
        data = ReleaseCreate.model_validate({"formats": formats, "filters": filters})
    except ValidationError as exc:
        raise form_errors(exc) from exc
    campaign = campaigns_service.get_campaign(session, slug=slug)
    service.create_release(session, campaign=campaign, data=data, user=user)
    return redirect(request, f"/campaigns/{slug}/releases")
