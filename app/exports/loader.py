"""Every vote of a campaign with what its annotator was shown, streamed in batches for the exports.

A vote's unit may be one output, a pair, or every output of an item (rankings); the outputs come in
the order this annotator saw them (`voting.service.shown_order`), with their systems, texts and media
looked up once per batch, so an export never holds a campaign in memory.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, null, select
from sqlalchemy.orm import Session

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign
from app.items.models import Candidate, Comparison, Item
from app.media import service as media_service
from app.voting.models import Assignment, Outcome, Vote

# Up to nine outputs per vote are looked up with one IN list per batch; this keeps it under the
# bound-parameter limits of both databases.
BATCH = 1000


class Output(NamedTuple):
    """One candidate as one annotator saw it: `position` 0 is A, 1 is B, and so on (a tuple: an export
    makes one per output of every vote)."""

    id: int
    public_id: str
    system: str
    content: str
    position: int
    media: tuple[str, ...] = ()
    duration_s: float | None = None


# The vote's columns the exports read, selected as plain columns (VoteRow has a Vote's attribute names):
# loading Vote and Assignment entities was most of an export's time.
_VOTE_COLUMNS = (
    Vote.id,
    Vote.public_id,
    Vote.comparison_id,
    Vote.annotator_id,
    Vote.outcome,
    Vote.winner_candidate_id,
    Vote.loser_candidate_id,
    Vote.strength,
    Vote.rationale,
    Vote.flags,
    Vote.rubric_id,
    Vote.time_on_task_ms,
    Vote.gold_correct,
    Vote.created_at,
)


class VoteRow(NamedTuple):
    """A vote as the exports read it: the columns above, then the answer and the listening log."""

    id: int
    public_id: str
    comparison_id: int
    annotator_id: int
    outcome: Outcome | None
    winner_candidate_id: int | None
    loser_candidate_id: int | None
    strength: int | None
    rationale: str
    flags: dict[str, Any]
    rubric_id: int | None
    time_on_task_ms: int
    gold_correct: bool | None
    created_at: datetime
    answer: dict[str, Any]
    listening_log: list[dict[str, Any]] | None


_N_VOTE = len(VoteRow._fields)


@dataclass(frozen=True)
class VoteContext:
    vote: VoteRow
    campaign: str
    item_id: str
    prompt: str
    tags: list[str]
    questions: list[dict[str, str]]
    annotator: str
    annotator_kind: str
    shown: list[Output]
    item_role: str = "data"

    def output(self, public_id: str) -> Output | None:
        return next((o for o in self.shown if o.public_id == public_id), None)

    def output_by_id(self, candidate_id: int | None) -> Output | None:
        return next((o for o in self.shown if o.id == candidate_id), None)

    def provenance(self) -> dict[str, Any]:
        """The columns every per-vote export ends with (see writers.PROVENANCE)."""
        return {
            "vote_id": self.vote.public_id,
            "campaign": self.campaign,
            "item_id": self.item_id,
            "comparison_id": self.vote.comparison_id,
            "annotator": self.annotator,
            "annotator_kind": self.annotator_kind,
            "shown_systems": [o.system for o in self.shown],
            "shown_candidates": [o.public_id for o in self.shown],
            "time_on_task_ms": self.vote.time_on_task_ms,
            "created_at": self.vote.created_at.isoformat(),
            "tags": list(self.tags),
        }


def vote_query(
    campaign: Campaign,
    *,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = False,
    with_answers: bool = True,
) -> Select[Any]:
    """The campaign's votes in id order; `max_vote_id` is a release's snapshot boundary, `data_only`
    leaves out gold and qualification items (their answers are known, not collected), and without
    `with_answers` the answer and listening log are not read (the votes format has neither)."""
    answers = (Vote.answer, Vote.listening_log) if with_answers else (null(), null())
    query = (
        select(
            *_VOTE_COLUMNS,
            answers[0].label("answer"),
            answers[1].label("listening_log"),
            Assignment.left_candidate_id,
            Assignment.right_candidate_id,
            Assignment.shown_ids,
            Item.external_id,
            Item.prompt,
            Item.tags,
            (Item.questions if with_answers else null()).label("questions"),
            User.pseudonym,
            User.kind,
            Item.role,
        )
        .join(Assignment, Assignment.id == Vote.assignment_id)
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .join(Item, Item.id == Comparison.item_id)
        .join(User, User.id == Vote.annotator_id)
        .where(Vote.campaign_id == campaign.id)
        .order_by(Vote.id)
    )
    if annotator_kind is not None:
        query = query.where(User.kind == annotator_kind)
    if max_vote_id is not None:
        query = query.where(Vote.id <= max_vote_id)
    if data_only:
        query = query.where(Item.role == "data")
    return query


def iter_votes(
    session: Session, *, campaign: Campaign, query: Select[Any] | None = None, stream: bool = True
) -> Iterator[VoteContext]:
    """Each vote of `query` (default: all of the campaign's, in the order stored) with its outputs."""
    query = vote_query(campaign) if query is None else query
    if stream:
        query = query.execution_options(yield_per=BATCH)
    result = session.execute(query)
    with_media = media_service.campaign_has_media(session, campaign_id=campaign.id)
    batches = result.partitions() if stream else iter([result.all()])
    for batch in batches:
        # As voting.service.shown_order, on the assignment's three columns.
        orders = [
            list(row[_N_VOTE + 2])
            if row[_N_VOTE + 2]
            else [row[_N_VOTE]]
            if row[_N_VOTE + 1] is None
            else [row[_N_VOTE], row[_N_VOTE + 1]]
            for row in batch
        ]
        wanted = {candidate_id for order in orders for candidate_id in order}
        candidates = _candidates(session, wanted)
        media = media_service.media_of_candidates(session, candidate_ids=wanted) if with_media else {}
        for row, order in zip(batch, orders, strict=True):
            vote = VoteRow._make(row[:_N_VOTE])
            item_id, prompt, tags, questions, pseudonym, kind, role = row[_N_VOTE + 3 :]
            shown = []
            for position, candidate_id in enumerate(order):
                public_id, system, content = candidates[candidate_id]
                files = media.get(candidate_id, [])
                durations = [f.meta.get("duration_s") for f in files if (f.meta or {}).get("duration_s")]
                shown.append(
                    Output(
                        id=candidate_id,
                        public_id=public_id,
                        system=system,
                        content=content,
                        position=position,
                        media=tuple(f.sha256 for f in files),
                        # Several clips of one output play one after another, as on the task page.
                        duration_s=round(sum(float(d) for d in durations), 3) if durations else None,
                    )
                )
            yield VoteContext(
                vote=vote,
                campaign=campaign.slug,
                item_id=item_id,
                prompt=prompt,
                tags=list(tags or []),
                questions=list(questions or []),
                annotator=pseudonym,
                annotator_kind=kind.value,
                shown=shown,
                item_role=role,
            )


def _candidates(session: Session, ids: set[int]) -> dict[int, tuple[str, str, str]]:
    if not ids:
        return {}
    rows = session.execute(
        select(Candidate.id, Candidate.public_id, Candidate.system, Candidate.content).where(
            Candidate.id.in_(sorted(ids))
        )
    )
    return {row.id: (row.public_id, row.system, row.content) for row in rows}
