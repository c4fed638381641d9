"""JSON API for the annotator loop (next, vote) and the researcher's view of votes."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from app.auth.models import Role
from app.campaigns import service as campaigns_service
from app.campaigns.dependencies import CampaignDep
from app.db import session_scope
from app.deps import Identity, IdentityDep, Researcher, SessionDep, ensure_role, resolve_user
from app.exports import service as exports_service
from app.voting import service
from app.voting.schemas import AssignmentRead, VoteCreate, VoteRead, VoteRecord

router = APIRouter(prefix="/api/v1", tags=["voting"])

# The two hot routes run their whole transaction (auth, campaign, service, commit) in one worker thread:
# a connection is then never held by a request that waits for a thread, which under load would starve
# the pool, and each request pays one thread hop instead of one per dependency.


@router.get(
    "/campaigns/{slug}/next",
    response_model=AssignmentRead,
    responses={204: {"description": "nothing left for this annotator"}},
)
async def next_assignment(slug: str, identity: IdentityDep) -> AssignmentRead | Response:
    assignment = await run_in_threadpool(_next_in_transaction, slug, identity)
    if assignment is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return assignment


def _next_in_transaction(slug: str, identity: Identity) -> AssignmentRead | None:
    with session_scope() as session:
        user = ensure_role(resolve_user(session, identity), Role.annotator)
        campaign = campaigns_service.get_campaign(session, slug=slug)
        return service.next_assignment(session, campaign=campaign, annotator=user)


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
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> VoteRead:
    result = await run_in_threadpool(_vote_in_transaction, assignment_id, data, identity, idempotency_key)
    if result.replayed:
        response.status_code = status.HTTP_200_OK
    return result.vote


def _vote_in_transaction(
    assignment_id: str, data: VoteCreate, identity: Identity, idempotency_key: str | None
) -> service.VoteResult:
    # Committed when this returns, before the response is written: an acknowledged vote is stored.
    with session_scope() as session:
        user = ensure_role(resolve_user(session, identity), Role.annotator)
        return service.cast_vote(
            session, assignment_id=assignment_id, annotator=user, data=data, idempotency_key=idempotency_key
        )


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
