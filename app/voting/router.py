"""JSON API for the annotator loop (next, vote) and the researcher's view of votes."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from app.campaigns.dependencies import CampaignDep
from app.deps import Annotator, Researcher, SessionDep
from app.exports import service as exports_service
from app.voting import service
from app.voting.schemas import AssignmentRead, VoteCreate, VoteRead, VoteRecord

router = APIRouter(prefix="/api/v1", tags=["voting"])


@router.get(
    "/campaigns/{slug}/next",
    response_model=AssignmentRead,
    responses={204: {"description": "nothing left for this annotator"}},
)
def next_assignment(campaign: CampaignDep, session: SessionDep, user: Annotator) -> AssignmentRead | Response:
    assignment = service.next_assignment(session, campaign=campaign, annotator=user)
    if assignment is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return assignment


@router.post(
    "/assignments/{assignment_id}/vote",
    status_code=status.HTTP_201_CREATED,
    response_model=VoteRead,
    responses={200: {"description": "a retry with the same Idempotency-Key: the stored vote"}},
)
def cast_vote(
    assignment_id: str,
    data: VoteCreate,
    session: SessionDep,
    user: Annotator,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> VoteRead:
    result = service.cast_vote(
        session, assignment_id=assignment_id, annotator=user, data=data, idempotency_key=idempotency_key
    )
    if result.replayed:
        response.status_code = status.HTTP_200_OK
    return result.vote


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
