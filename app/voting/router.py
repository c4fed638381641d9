"""JSON API for the annotator loop (next, vote) and the researcher's view of votes."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel

from app.campaigns.dependencies import CampaignDep
from app.deps import IdentityDep, Researcher, SessionDep
from app.exports import service as exports_service
from app.voting import hot_path
from app.voting.schemas import AssignmentRead, VoteCreate, VoteRead, VoteRecord

router = APIRouter(prefix="/api/v1", tags=["voting"])

# The two hot routes run their whole transaction (auth, campaign, service, commit) in one worker thread
# (hot_path.py): a connection is then never held by a request that waits for a thread, which under load
# would starve the pool, and each request pays one thread hop instead of one per dependency.


@router.get(
    "/campaigns/{slug}/next",
    response_model=AssignmentRead,
    responses={204: {"description": "nothing left for this annotator"}},
)
async def next_assignment(slug: str, identity: IdentityDep) -> Response:
    assignment = await hot_path.run(hot_path.next_assignment, slug=slug, identity=identity)
    if assignment is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return _json(assignment, status.HTTP_200_OK)


@router.post(
    "/assignments/{assignment_id}/vote",
    status_code=status.HTTP_201_CREATED,
    response_model=VoteRead,
    responses={200: {"description": "a retry with the same Idempotency-Key: the stored vote"}},
)
async def cast_vote(
    assignment_id: str,
    data: VoteCreate,
    identity: IdentityDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Response:
    result = await hot_path.run(
        hot_path.cast_vote,
        assignment_id=assignment_id,
        identity=identity,
        data=data,
        idempotency_key=idempotency_key,
    )
    return _json(result.vote, status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED)


def _json(model: BaseModel, status_code: int) -> Response:
    # Serialised by pydantic-core in one call; `response_model` above documents the shape.
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


@router.get("/campaigns/{slug}/votes", response_model=list[VoteRecord])
def list_votes(
    campaign: CampaignDep,
    session: SessionDep,
    user: Researcher,
    after: Annotated[str | None, Query(description="vote id to continue after")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[VoteRecord]:
    """Votes in the order they were stored, with system names; page with `after`."""
    return exports_service.list_vote_records(session, campaign=campaign, after=after, limit=limit)
