"""Import lines with known answers, and a loop that answers tasks by the item's systems."""

import json
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.errors import Forbidden
from app.items.models import Candidate
from app.voting import service as voting_service
from app.voting.schemas import AssignmentRead, VoteCreate
from tests.factories import SYSTEMS

BETTER, WORSE = SYSTEMS[0], SYSTEMS[1]


def pair_line(item_id: str, role: str = "data", winner: str | None = None) -> str:
    line: dict[str, object] = {
        "id": item_id,
        "prompt": f"Prompt {item_id}",
        "candidates": [
            {"system": BETTER, "content": f"A careful answer to {item_id}"},
            {"system": WORSE, "content": f"A sloppy answer to {item_id}"},
        ],
    }
    if role != "data":
        line |= {"role": role, "gold_answer": {"winner": winner or BETTER}}
    return json.dumps(line)


def system_of(session: Session, public_id: str) -> str:
    return session.scalar(select(Candidate.system).where(Candidate.public_id == public_id)) or ""


def answer_loop(
    session: Session,
    *,
    campaign: Campaign,
    annotator: User,
    choose: Callable[[AssignmentRead], str],
    limit: int = 10_000,
) -> list[AssignmentRead]:
    """Asks for tasks and votes `choose(task)` until nothing is left, the annotator is refused, or
    `limit`; returns the tasks."""
    seen = []
    while len(seen) < limit:
        try:
            task = voting_service.next_assignment(session, campaign=campaign, annotator=annotator)
        except Forbidden:
            session.rollback()
            break
        if task is None:
            break
        seen.append(task)
        voting_service.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=annotator,
            data=VoteCreate(outcome=choose(task)),  # type: ignore[arg-type]
            idempotency_key=None,
        )
        session.commit()
    return seen


def prefer(session: Session, system: str) -> Callable[[AssignmentRead], str]:
    """Votes for the side that shows `system`."""

    def choose(task: AssignmentRead) -> str:
        return "a" if system_of(session, task.candidates[0].id) == system else "b"

    return choose
