"""Streaming export of a campaign as JSON Lines."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.campaigns.dependencies import CampaignDep
from app.campaigns.service import get_campaign
from app.db import session_scope
from app.deps import Researcher
from app.exports import service, writers

router = APIRouter(prefix="/api/v1/campaigns", tags=["exports"])


@router.get(
    "/{slug}/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSON Lines, one row per line"}},
)
def export_campaign(
    campaign: CampaignDep,
    user: Researcher,
    format: Annotated[service.ExportFormat, Query(description="pairwise or votes")] = "pairwise",
) -> StreamingResponse:
    slug = campaign.slug

    # The request's session is closed once this function returns, so the stream reads in its own.
    def stream() -> Iterator[bytes]:
        with session_scope() as session:
            current = get_campaign(session, slug=slug)
            yield from writers.iter_jsonl(service.iter_rows(session, campaign=current, fmt=format))

    return StreamingResponse(
        stream(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{slug}-{format}.jsonl"'},
    )
