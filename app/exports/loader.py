"""Every vote of a campaign with what its annotator was shown, streamed in batches for the exports.

A vote's unit may be one output, a pair, or every output of an item (rankings); the outputs come in
the order this annotator saw them (`voting.service.shown_order`), with their systems, texts and media
looked up once per batch, so an export never holds a campaign in memory.
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, Text, cast, null, select
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


@lru_cache(maxsize=4096)
def _small_json(text: str) -> Any:
    return json.loads(text)


def small_json(text: str | None) -> Any:
    """A small JSON value read as text (flags, tags, shown order): most votes share a handful of them
    ('{}', '[]', an item's tags), so each distinct text is decoded once. The value is shared between
    rows: read it, never change it."""
    return None if text is None else _small_json(text)


def _as_text(column: Any, name: str) -> Any:
    # As text, decoded by small_json: the JSON type decodes every row's copy, which was a fifth of an
    # export's reading time. jsonb::text on PostgreSQL, the stored text on SQLite.
    return cast(column, Text).label(name)


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
    _as_text(Vote.flags, "flags"),
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
            _as_text(Assignment.shown_ids, "shown_ids"),
            Item.external_id,
            Item.prompt,
            _as_text(Item.tags, "tags"),
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


# Positions in a vote_query row after the VoteRow columns.
LEFT, RIGHT, SHOWN_IDS, ITEM_ID, PROMPT, TAGS, QUESTIONS, PSEUDONYM, KIND, ROLE = range(_N_VOTE, _N_VOTE + 10)


class Batch(NamedTuple):
    """One streamed batch of vote_query rows with what they show: per row the candidate ids in the
    order shown; per candidate id (public id, system, text); per candidate id its media files."""

    rows: Sequence[Row[Any]]
    orders: list[list[int]]
    candidates: dict[int, tuple[str, str, str]]
    media: dict[int, list[Any]]


def iter_batches(
    session: Session, *, campaign: Campaign, query: Select[Any], stream: bool = True
) -> Iterator[Batch]:
    """vote_query's rows, BATCH at a time, with the candidates they show looked up once per batch.

    Core on the session's connection: the ORM's row handling on a columns-only select costs a third
    more and gives nothing here."""
    if stream:
        # On the statement: Connection.execution_options would change the session's connection for
        # every later statement (a server-side cursor for an UPDATE on PostgreSQL).
        query = query.execution_options(yield_per=BATCH)
    result = session.connection().execute(query)
    with_media = media_service.campaign_has_media(session, campaign_id=campaign.id)
    batches = result.partitions() if stream else iter([result.all()])
    for batch in batches:
        # As voting.service.shown_order, on the assignment's three columns.
        orders = [
            list(shown)
            if (shown := small_json(row[SHOWN_IDS]))
            else [row[LEFT]]
            if row[RIGHT] is None
            else [row[LEFT], row[RIGHT]]
            for row in batch
        ]
        wanted = {candidate_id for order in orders for candidate_id in order}
        candidates = _candidates(session, wanted)
        media = media_service.media_of_candidates(session, candidate_ids=wanted) if with_media else {}
        yield Batch(rows=batch, orders=orders, candidates=candidates, media=media)


def iter_votes(
    session: Session, *, campaign: Campaign, query: Select[Any] | None = None, stream: bool = True
) -> Iterator[VoteContext]:
    """Each vote of `query` (default: all of the campaign's, in the order stored) with its outputs."""
    query = vote_query(campaign) if query is None else query
    for batch in iter_batches(session, campaign=campaign, query=query, stream=stream):
        candidates, media = batch.candidates, batch.media
        for row, order in zip(batch.rows, batch.orders, strict=True):
            vote = VoteRow._make(row[:_N_VOTE])
            vote = vote._replace(flags=small_json(vote.flags))
            item_id, prompt, tags, questions, pseudonym, kind, role = row[ITEM_ID:]
            shown = []
            for position, candidate_id in enumerate(order):
                public_id, system, content = candidates[candidate_id]
                files = media.get(candidate_id, [])
                shown.append(
                    Output(
                        id=candidate_id,
                        public_id=public_id,
                        system=system,
                        content=content,
                        position=position,
                        media=tuple(f.sha256 for f in files),
                        duration_s=clip_duration(files),
                    )
                )
            yield VoteContext(
                vote=vote,
                campaign=campaign.slug,
                item_id=item_id,
                prompt=prompt,
                tags=list(small_json(tags) or []),
                questions=list(questions or []),
                annotator=pseudonym,
                annotator_kind=kind.value,
                shown=shown,
                item_role=role,
            )


def clip_duration(files: list[Any]) -> float | None:
    """Seconds of an output's clips; several clips of one output play one after another, as on the
    task page."""
    durations = [f.meta.get("duration_s") for f in files if (f.meta or {}).get("duration_s")]
    return round(sum(float(d) for d in durations), 3) if durations else None


def _candidates(session: Session, ids: set[int]) -> dict[int, tuple[str, str, str]]:
    if not ids:
        return {}
    rows = session.execute(
        select(Candidate.id, Candidate.public_id, Candidate.system, Candidate.content).where(
            Candidate.id.in_(sorted(ids))
        )
    )
    return {row.id: (row.public_id, row.system, row.content) for row in rows}
