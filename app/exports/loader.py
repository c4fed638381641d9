"""Every vote of a campaign with what its annotator was shown, streamed in batches for the exports.

A vote's unit may be one output, a pair, or every output of an item (rankings); the outputs come in
the order this annotator saw them (`voting.service.shown_order`), with their systems, texts and media
looked up once per batch, so an export never holds a campaign in memory.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign
from app.items.models import Candidate, Comparison, Item
from app.media import service as media_service
from app.voting.models import Assignment, Vote
from app.voting.service import shown_order

# Up to nine outputs per vote are looked up with one IN list per batch; this keeps it under the
# bound-parameter limits of both databases.
BATCH = 1000


@dataclass(frozen=True)
class Output:
    """One candidate as one annotator saw it: `position` 0 is A, 1 is B, and so on."""

    id: int
    public_id: str
    system: str
    content: str
    position: int
    media: tuple[str, ...] = ()
    duration_s: float | None = None


@dataclass(frozen=True)
class VoteContext:
    vote: Vote
    campaign: str
    item_id: str
    prompt: str
    tags: list[str]
    questions: list[dict[str, str]]
    annotator: str
    annotator_kind: str
    shown: list[Output]

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


def vote_query(campaign: Campaign, *, annotator_kind: UserKind | None = None) -> Select[Any]:
    query = (
        select(
            Vote,
            Assignment,
            Item.external_id,
            Item.prompt,
            Item.tags,
            Item.questions,
            User.pseudonym,
            User.kind,
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
        orders = [shown_order(row[1]) for row in batch]
        wanted = {candidate_id for order in orders for candidate_id in order}
        candidates = _candidates(session, wanted)
        media = media_service.media_of_candidates(session, candidate_ids=wanted) if with_media else {}
        for row, order in zip(batch, orders, strict=True):
            vote, _assignment, item_id, prompt, tags, questions, pseudonym, kind = row
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
