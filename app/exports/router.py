"""Streaming export of a campaign as JSON Lines."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.auth.models import UserKind
from app.campaigns.dependencies import CampaignDep
from app.campaigns.service import get_campaign
from app.db import session_scope
from app.deps import Researcher, SessionDep
from app.exports import service, writers

router = APIRouter(prefix="/api/v1/campaigns", tags=["exports"])


@router.get(
    "/{slug}/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/x-ndjson": {}}, "description": "JSON Lines, one row per line"},
        422: {"description": "an unknown format, or one whose data this campaign's task kind never asks"},
    },
)
def export_campaign(
    campaign: CampaignDep,
    session: SessionDep,
    user: Researcher,
    format: Annotated[
        service.ExportFormat, Query(description="one of " + ", ".join(service.FORMATS))
    ] = "pairwise",
    annotator_kind: Annotated[
        UserKind | None,
        Query(description="only people's (human) or LM judges' (model) votes; default all (pairwise: human)"),
    ] = None,
) -> StreamingResponse:
    service.check_format(session, campaign=campaign, fmt=format)
    slug = campaign.slug

    # The request's session is closed once this function returns, so the stream reads in its own.
    def stream() -> Iterator[bytes]:
        with session_scope() as session:
            current = get_campaign(session, slug=slug)
            rows = service.iter_rows(session, campaign=current, fmt=format, annotator_kind=annotator_kind)
            yield from writers.iter_jsonl(rows)

    return StreamingResponse(
        stream(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{slug}-{format}.jsonl"'},
    )
