"""HTML pages for the annotator loop: the task page, and the vote that swaps in the next task.

Both call the same services as the JSON API (next_assignment, cast_vote, annotator_progress). A task
page never carries a system name: AssignmentRead has none, and the ids in it are opaque.
"""

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns import service as campaigns_service
from app.campaigns.models import Campaign
from app.crowd import service as crowd_service
from app.deps import OptionalUser, SessionDep
from app.errors import Conflict, Forbidden, Invalid
from app.tasks.schemas import TaskAnswer
from app.voting import service
from app.voting.schemas import VoteCreate, VoteRead
from app.web import login_redirect, render

router = APIRouter(include_in_schema=False)

STRENGTH_LABELS = {0: "unsure", 1: "slightly better", 2: "clearly better", 3: "much better"}
OUTCOME_LABELS = {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both bad"}


@router.get("/campaigns/{slug}/task")
def task_page(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> Response:
    """The annotator's current task (full page, or the task fragment for htmx)."""
    if user is None:
        return login_redirect(request)
    campaign = campaigns_service.get_campaign(session, slug=slug)
    return _task_response(request, session, campaign=campaign, user=user)


@router.post("/campaigns/{slug}/task/{assignment_id}/vote")
def vote(
    request: Request,
    slug: str,
    assignment_id: str,
    session: SessionDep,
    user: OptionalUser,
    outcome: Annotated[str, Form(max_length=20)] = "",
    strength: Annotated[int | None, Form()] = None,
    rationale: Annotated[str, Form()] = "",
    flags_a: Annotated[list[str] | None, Form()] = None,
    flags_b: Annotated[list[str] | None, Form()] = None,
    idempotency_key: Annotated[str, Form(max_length=200)] = "",
    answer: Annotated[str, Form(max_length=2_000_000)] = "",
) -> Response:
    """Stores the vote and answers with the next task; a refused vote shows why, without losing the UI."""
    if user is None:
        return login_redirect(request)
    campaign = campaigns_service.get_campaign(session, slug=slug)
    sent = {
        "assignment_id": assignment_id,
        "outcome": outcome,
        "strength": strength,
        "rationale": rationale,
        "flags_a": flags_a or [],
        "flags_b": flags_b or [],
        "answer": answer,
    }
    try:
        # The page's scripts gather ratings, rankings, spans and player logs into one JSON field.
        parsed_answer = TaskAnswer.model_validate_json(answer) if answer.strip() else TaskAnswer()
        data = VoteCreate(
            outcome=outcome or None,  # type: ignore[arg-type]
            strength=strength,
            rationale=rationale,
            flags={"a": flags_a or [], "b": flags_b or []},
            answer=parsed_answer,
        )
    except ValidationError as exc:
        return _task_response(
            request, session, campaign=campaign, user=user, problem=_describe(exc), retry=sent, status=422
        )
    try:
        # A savepoint, so a refused vote leaves nothing half-written and the next task can still load.
        with session.begin_nested():
            result = service.cast_vote(
                session,
                assignment_id=assignment_id,
                annotator=user,
                data=data,
                idempotency_key=idempotency_key or None,
            )
    except Invalid as exc:
        return _task_response(
            request, session, campaign=campaign, user=user, problem=exc.message, retry=sent, status=422
        )
    except Conflict as exc:
        # Typically the lease ran out and the comparison went back to the pool: carry on with the next task.
        return _task_response(request, session, campaign=campaign, user=user, refused=exc.message)
    return _task_response(request, session, campaign=campaign, user=user, previous=result.vote)


def _task_response(
    request: Request,
    session: Session,
    *,
    campaign: Campaign,
    user: User,
    refused: str | None = None,
    problem: str | None = None,
    previous: VoteRead | None = None,
    retry: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    closed = held = None
    # A crowd participant who gave the study's required votes gets no further task, but the code.
    crowd = crowd_service.participant_state(session, campaign=campaign, user=user)
    try:
        assignment = (
            None
            if crowd is not None and crowd.quota_reached
            else service.next_assignment(session, campaign=campaign, annotator=user)
        )
    except Conflict as exc:
        # The campaign is paused or closed; a vote just cast is still stored.
        assignment, closed = None, exc.message
    except Forbidden as exc:
        # Quality control holds this annotator back (paused, or a failed qualification test); caught
        # rather than raised so that a vote just cast is still committed.
        assignment, held, status = None, exc.message, 403
    done, remaining = service.annotator_progress(session, campaign=campaign, annotator=user)
    if retry and (assignment is None or retry["assignment_id"] != assignment.assignment_id):
        # The refused vote was for a task that is no longer the one on screen: say so, start afresh.
        refused, problem, retry, status = problem, None, None, 403 if held else 200
    context = {
        "user": user,
        "campaign": campaign,
        "assignment": assignment,
        "task_url": f"/campaigns/{quote(campaign.slug)}/task",
        "vote_url": (
            f"/campaigns/{quote(campaign.slug)}/task/{quote(assignment.assignment_id)}/vote"
            if assignment
            else None
        ),
        # One key per rendered task: a second press or a retry of the same form is stored once.
        "idempotency_key": uuid.uuid4().hex,
        "done": done,
        "remaining": remaining,
        "closed": closed,
        "crowd": crowd_service.completion(
            session, state=crowd, nothing_left=assignment is None and not closed and not held
        ),
        "held": held,
        "refused": refused,
        "problem": problem,
        "previous": previous,
        "form": retry or {},
        "strength_labels": STRENGTH_LABELS,
        "outcome_labels": OUTCOME_LABELS,
    }
    fragment = "voting/_task.html" if assignment else "voting/_done.html"
    return render(request, "voting/task.html", context, fragment=fragment, status=status)


def _describe(exc: ValidationError) -> str:
    for error in exc.errors():
        if error["loc"] and error["loc"][0] == "outcome":
            return "Choose A, B, tie or both bad before submitting."
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
