"""JSON API for importing items into a campaign."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from app.campaigns.dependencies import CampaignDep
from app.config import get_settings
from app.deps import Researcher, SessionDep
from app.errors import DomainError, ImportRejected
from app.items import service
from app.items.schemas import ImportFormat, ImportReport

router = APIRouter(prefix="/api/v1/campaigns", tags=["items"])


@router.post(
    "/{slug}/items",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportReport,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "JSON Lines, one item a line"}
                }
            },
        }
    },
)
async def import_items(
    request: Request,
    campaign: CampaignDep,
    session: SessionDep,
    user: Researcher,
    format: Annotated[
        ImportFormat,
        Query(
            description="preflab (JSON Lines), chosen-rejected (HH-RLHF style), fg-rlhf or imagereward "
            "(their JSON documents)"
        ),
    ] = "preflab",
) -> ImportReport:
    """Imports JSON Lines items; one bad line rejects the whole body and nothing is stored."""
    limit = get_settings().max_import_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise DomainError(f"the import body is over the {limit} byte limit; split the file")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportRejected(f"the body is not UTF-8 (byte {exc.start})") from None
    return await run_in_threadpool(
        service.import_items, session, campaign=campaign, lines=text.splitlines(), fmt=format
    )
