"""The hot path: hand out the next comparison under a lease, and record a vote exactly once.

Both run inside the caller's transaction. On Postgres the free comparison is claimed with
`FOR UPDATE SKIP LOCKED`, so concurrent annotators never wait on each other or over-assign; on SQLite
every write transaction starts with BEGIN IMMEDIATE (see app/db.py), which serialises them instead.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Exists, Update, and_, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.auth.models import User
from app.campaigns.models import Campaign, CampaignStatus, TaskKind
from app.db import utcnow
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.items.models import Candidate, Comparison, Item
from app.media.models import CandidateMedia, MediaFile
from app.media.service import media_url
from app.qc import service as qc_service
from app.routing.models import Route, RoutingDecision
from app.selection.config import picks_system_pairs, selection_config
from app.selection.live import choose_pair_key
from app.tasks import service as tasks_service
from app.tasks.answers import ShownOutput, check_answer
from app.tasks.config import task_config
from app.tasks.models import Rubric
from app.tasks.units import unit_size
from app.voting.models import Assignment, AssignmentStatus, Outcome, Vote
from app.voting.schemas import (
    AssignmentRead,
    ShownCandidate,
    ShownMedia,
    VoteCreate,
    VoteOutcome,
    VoteRead,
)

_rng = random.SystemRandom()
# Picks that may fail to claim (a stale cache, an annotator who saw the pair) before any open one is taken.
SELECTION_TRIES = 3


@dataclass(frozen=True)
class VoteResult:
    vote: VoteRead
    replayed: bool


# The hot path's statements are built once at import: building and hashing a statement per request
# cost more CPU than running it.
_LIVE_LEASE = (
    select(Assignment)
    .where(
        Assignment.annotator_id == bindparam("annotator_id"),
        Assignment.campaign_id == bindparam("campaign_id"),
        Assignment.status == AssignmentStatus.leased,
        Assignment.lease_expires_at > bindparam("now", type_=Assignment.lease_expires_at.type),
    )
    .order_by(Assignment.id)
    .limit(1)
)
_open = aliased(Comparison)
_shown_left, _shown_right = aliased(Candidate), aliased(Candidate)
_SHOWN_CONTENT = (
    select(Item.prompt, Item.context, Item.questions, Candidate.id, Candidate.public_id, Candidate.content)
    .join(Item, Item.id == Candidate.item_id)
    .where(Candidate.id.in_(bindparam("shown", expanding=True)))
)
_SHOWN_MEDIA = (
    select(CandidateMedia.candidate_id, MediaFile.public_id, MediaFile.mime, MediaFile.meta)
    .join(MediaFile, MediaFile.id == CandidateMedia.media_id)
    .where(CandidateMedia.candidate_id.in_(bindparam("shown", expanding=True)))
    .order_by(CandidateMedia.candidate_id, CandidateMedia.position)
)
_FOR_VOTE = (
    select(
        Assignment,
        Campaign,
        _shown_left.public_id,
        _shown_left.system,
        _shown_right.public_id,
        _shown_right.system,
    )
    .join(Campaign, Campaign.id == Assignment.campaign_id)
    .join(_shown_left, _shown_left.id == Assignment.left_candidate_id)
    .outerjoin(_shown_right, _shown_right.id == Assignment.right_candidate_id)
    .where(Assignment.public_id == bindparam("public_id"))
)
_FOR_VOTE_LOCKED = _FOR_VOTE.with_for_update(of=Assignment)
_COUNT_VOTE = (
    update(Comparison)
    .where(Comparison.id == bindparam("b_comparison_id"))
    .values(vote_count=Comparison.vote_count + 1)
)


def _seen_by_annotator(comparison: type[Comparison]) -> Exists:
    """Whether the annotator (bound as :b_annotator_id) ever had this comparison: leased, voted or expired."""
    # OFFSET 0 keeps Postgres from flattening the subquery into a merge anti-join that reads the whole
    # (comparison_id, annotator_id) index: measured 4-7 ms at 50k assignments, 0.13 ms with the fence.
    return (
        select(Assignment.id)
        .where(
            Assignment.comparison_id == comparison.id, Assignment.annotator_id == bindparam("b_annotator_id")
        )
        .offset(0)
        .exists()
    )


# Whether any ordinary unit is open for the annotator: gold is mixed in only while data is left.
_OPEN_FOR_ANNOTATOR = (
    select(_open.id)
    .where(_open.campaign_id == bindparam("b_campaign_id"), _open.open_slots > 0, ~_seen_by_annotator(_open))
    .limit(1)
)


def _build_claim(*, skip_locked: bool, by_pair: bool = False) -> Update:
    # Claim and decrement in one statement: the subquery picks the first open comparison this annotator
    # never had, skipping rows other transactions hold (Postgres), and the UPDATE takes its slot.
    conditions = [
        _open.campaign_id == bindparam("b_campaign_id"),
        _open.open_slots > 0,
        ~_seen_by_annotator(_open),
    ]
    if by_pair:  # the system pair a selection strategy chose
        conditions.append(_open.pair_key == bindparam("b_pair_key"))
    pick = select(_open.id).where(*conditions).order_by(_open.priority.desc(), _open.id).limit(1)
    if skip_locked:
        pick = pick.with_for_update(skip_locked=True)
    return (
        update(Comparison)
        .where(Comparison.id == pick.scalar_subquery())
        .values(open_slots=Comparison.open_slots - 1)
        .returning(Comparison.id, Comparison.candidate_a_id, Comparison.candidate_b_id)
    )


_CLAIMS = {
    (skip_locked, by_pair): _build_claim(skip_locked=skip_locked, by_pair=by_pair)
    for skip_locked in (False, True)
    for by_pair in (False, True)
}


def _claim_statement(dialect: str, *, by_pair: bool = False) -> Update:
    return _CLAIMS[dialect == "postgresql", by_pair]


def next_assignment(
    session: Session, *, campaign: Campaign, annotator: User, now: datetime | None = None
) -> AssignmentRead | None:
    """The annotator's live assignment in this campaign, else a new one; None when nothing is left."""
    now = now or utcnow()
    if campaign.status != CampaignStatus.active:
        raise Conflict(f"campaign '{campaign.slug}' is {campaign.status.value}; no tasks are handed out")
    # Quality control (a paused or failed annotator is refused here) costs nothing when it is off.
    admission = (
        qc_service.admit(session, campaign=campaign, annotator=annotator) if campaign.quality else None
    )
    live = session.scalar(_LIVE_LEASE, {"annotator_id": annotator.id, "campaign_id": campaign.id, "now": now})
    if live is None:
        if admission is not None:
            live = _lease_with_quality(
                session, campaign=campaign, annotator=annotator, admission=admission, now=now
            )
        else:
            live = _lease_open(session, campaign=campaign, annotator=annotator, now=now)
        if live is None:
            return None
    return _render_assignment(session, assignment=live, campaign=campaign)


def _lease_open(session: Session, *, campaign: Campaign, annotator: User, now: datetime) -> Assignment | None:
    live = _lease_new(session, campaign=campaign, annotator=annotator, now=now)
    # Expired leases are swept by Celery beat; when the pool looks empty, sweep now and look again
    # rather than tell an annotator there is nothing left while slots sit in dead leases.
    if live is None and reclaim_expired_leases(session, campaign_id=campaign.id, now=now):
        live = _lease_new(session, campaign=campaign, annotator=annotator, now=now)
    return live


def _lease_with_quality(
    session: Session, *, campaign: Campaign, annotator: User, admission: qc_service.Admission, now: datetime
) -> Assignment | None:
    """A lease under quality control: nothing past the quota, qualification first, gold mixed in."""
    if qc_service.quota_reached(admission):
        return None  # the same "done" as an empty pool: the crowd's completion page shows there

    def data_left() -> bool:
        params = {"b_campaign_id": campaign.id, "b_annotator_id": annotator.id}
        if session.execute(_OPEN_FOR_ANNOTATOR, params).first() is not None:
            return True
        return bool(reclaim_expired_leases(session, campaign_id=campaign.id, now=now)) and (
            session.execute(_OPEN_FOR_ANNOTATOR, params).first() is not None
        )

    unit = qc_service.known_answer_unit(
        session, campaign=campaign, annotator=annotator, admission=admission, data_left=data_left
    )
    if unit is None:
        return _lease_open(session, campaign=campaign, annotator=annotator, now=now)
    row = session.execute(
        select(Comparison.id, Comparison.candidate_a_id, Comparison.candidate_b_id).where(
            Comparison.id == unit
        )
    ).one()
    try:
        # A known-answer unit takes no open slot; the unique (comparison, annotator) key is what keeps
        # one annotator's two concurrent requests from both leasing it.
        with session.begin_nested():
            return _store_lease(session, campaign=campaign, annotator=annotator, row=tuple(row), now=now)
    except IntegrityError:
        return _lease_open(session, campaign=campaign, annotator=annotator, now=now)


def reclaim_expired_leases(
    session: Session, *, campaign_id: int | None = None, now: datetime | None = None
) -> int:
    """Gives the slots of leases that ran out back to their comparisons; returns how many."""
    now = now or utcnow()
    condition = and_(Assignment.status == AssignmentStatus.leased, Assignment.lease_expires_at <= now)
    if campaign_id is not None:
        condition = and_(condition, Assignment.campaign_id == campaign_id)
    expired = session.scalars(
        update(Assignment)
        .where(condition)
        .values(status=AssignmentStatus.expired)
        .returning(Assignment.comparison_id)
    ).all()
    freed: dict[int, int] = {}
    for comparison_id in expired:
        freed[comparison_id] = freed.get(comparison_id, 0) + 1
    # A pair routed to the LM judge while someone held a lease on it stays out of the human queue.
    judged = (
        select(RoutingDecision.id)
        .where(RoutingDecision.comparison_id == Comparison.id, RoutingDecision.route == Route.judge)
        .exists()
    )
    # Gold and qualification units have no slots to give back (app.qc hands them out).
    known_answer = select(Item.id).where(Item.id == Comparison.item_id, Item.role != "data").exists()
    for comparison_id, slots in sorted(freed.items()):
        session.execute(
            update(Comparison)
            .where(Comparison.id == comparison_id, ~judged, ~known_answer)
            .values(open_slots=Comparison.open_slots + slots)
        )
    return len(expired)


def _lease_new(session: Session, *, campaign: Campaign, annotator: User, now: datetime) -> Assignment | None:
    dialect = session.get_bind().dialect.name
    params: dict[str, object] = {"b_campaign_id": campaign.id, "b_annotator_id": annotator.id}
    row = None
    selection = selection_config(campaign)
    if picks_system_pairs(selection) and unit_size(campaign) == "pair":
        tried: frozenset[str] = frozenset()
        while row is None and len(tried) < SELECTION_TRIES:
            key = choose_pair_key(session, campaign=campaign, config=selection, exclude=tried)
            if key is None:
                break
            row = session.execute(
                _claim_statement(dialect, by_pair=True), params | {"b_pair_key": key}
            ).first()
            tried |= {key}
    if row is None:  # no strategy, no pick, or the picked pairs had nothing left for this annotator
        row = session.execute(_claim_statement(dialect), params).first()
    if row is None:
        return None
    return _store_lease(session, campaign=campaign, annotator=annotator, row=tuple(row), now=now)


def _store_lease(
    session: Session, *, campaign: Campaign, annotator: User, row: tuple[int, int, int | None], now: datetime
) -> Assignment:
    """Stores the lease on a claimed unit (id, first and second candidate) with a random side order."""
    comparison_id, first, second = row
    shown_ids: list[int] | None = None
    if second is None:
        left, right = first, None
    elif campaign.task_kind == TaskKind.ranking:
        members = session.scalar(select(Comparison.members).where(Comparison.id == comparison_id))
        shown_ids = list(members or [first, second])
        _rng.shuffle(shown_ids)
        left, right = shown_ids[0], shown_ids[1]
    else:
        left, right = (first, second) if _rng.random() < 0.5 else (second, first)
    assignment = Assignment(
        campaign_id=campaign.id,
        comparison_id=comparison_id,
        annotator_id=annotator.id,
        left_candidate_id=left,
        right_candidate_id=right,
        shown_ids=shown_ids if shown_ids and len(shown_ids) > 2 else None,
        status=AssignmentStatus.leased,
        leased_at=now,
        lease_expires_at=now + timedelta(seconds=campaign.lease_seconds),
    )
    session.add(assignment)
    session.flush()
    return assignment


def shown_order(assignment: Assignment) -> list[int]:
    """Candidate ids in the order this annotator saw them."""
    if assignment.shown_ids:
        return list(assignment.shown_ids)
    if assignment.right_candidate_id is None:
        return [assignment.left_candidate_id]
    return [assignment.left_candidate_id, assignment.right_candidate_id]


def _render_assignment(session: Session, *, assignment: Assignment, campaign: Campaign) -> AssignmentRead:
    order = shown_order(assignment)
    rows = session.execute(_SHOWN_CONTENT, {"shown": order}).all()
    media: dict[int, list[ShownMedia]] = {}
    for candidate_id, public_id, mime, meta in session.execute(_SHOWN_MEDIA, {"shown": order}):
        media.setdefault(candidate_id, []).append(
            ShownMedia(url=media_url(public_id), mime=mime, duration_s=(meta or {}).get("duration_s"))
        )
    by_id = {
        row.id: ShownCandidate(id=row.public_id, content=row.content, media=media.get(row.id, []))
        for row in rows
    }
    rubric = tasks_service.current_rubric(session, campaign_id=campaign.id)
    return AssignmentRead(
        assignment_id=assignment.public_id,
        campaign=campaign.slug,
        prompt=rows[0].prompt,
        context=rows[0].context or {},
        candidates=[by_id[candidate_id] for candidate_id in order],
        lease_expires_at=assignment.lease_expires_at,
        task=tasks_service.task_view(campaign, rubric=rubric, questions=rows[0].questions or []),
    )


def _shown_outputs(
    session: Session, *, assignment: Assignment
) -> tuple[list[ShownOutput], list[dict[str, str]]]:
    """The shown candidates with their text and media facts, and the item's checklist questions."""
    order = shown_order(assignment)
    rows = {row.id: row for row in session.execute(_SHOWN_CONTENT, {"shown": order})}
    mimes: dict[int, list[str]] = {}
    durations: dict[int, list[float]] = {}
    for candidate_id, _, mime, meta in session.execute(_SHOWN_MEDIA, {"shown": order}):
        mimes.setdefault(candidate_id, []).append(mime)
        if (meta or {}).get("duration_s") is not None:
            durations.setdefault(candidate_id, []).append(float(meta["duration_s"]))
    shown = [
        ShownOutput(
            candidate_id=candidate_id,
            public_id=rows[candidate_id].public_id,
            content=rows[candidate_id].content,
            mimes=tuple(mimes.get(candidate_id, [])),
            # Several clips of one output play one after another.
            duration_s=sum(durations[candidate_id]) if candidate_id in durations else None,
        )
        for candidate_id in order
    ]
    return shown, rows[order[0]].questions or []


@dataclass(frozen=True)
class _Shown:
    """The first two candidates of an assignment in the order shown, as the vote path needs them; the
    right one is missing for single-output tasks."""

    left_id: int
    left_public: str
    left_system: str
    right_id: int | None
    right_public: str | None
    right_system: str | None

    def public(self, candidate_id: int) -> str:
        return self.left_public if candidate_id == self.left_id else str(self.right_public)


def _load_for_vote(session: Session, *, public_id: str) -> tuple[Assignment, Campaign, _Shown]:
    """The assignment (row-locked on Postgres), its campaign and its candidates, in one round trip."""
    query = _FOR_VOTE_LOCKED if session.get_bind().dialect.name == "postgresql" else _FOR_VOTE
    row = session.execute(query, {"public_id": public_id}).first()
    if row is None:
        raise NotFound(f"no assignment '{public_id}'")
    assignment, campaign, left_public, left_system, right_public, right_system = row
    shown = _Shown(
        assignment.left_candidate_id,
        left_public,
        left_system,
        assignment.right_candidate_id,
        right_public,
        right_system,
    )
    return assignment, campaign, shown


def cast_vote(
    session: Session,
    *,
    assignment_id: str,
    annotator: User,
    data: VoteCreate,
    idempotency_key: str | None,
    now: datetime | None = None,
) -> VoteResult:
    """Stores the vote once. A retry with the same idempotency key returns the stored vote."""
    now = now or utcnow()
    check_idempotency_key(idempotency_key)
    assignment, campaign, shown = _load_for_vote(session, public_id=assignment_id)
    if assignment.annotator_id != annotator.id:
        raise Forbidden("this assignment belongs to another annotator")

    if assignment.status == AssignmentStatus.completed:
        earlier = session.scalar(select(Vote).where(Vote.assignment_id == assignment.id))
        if earlier is not None and idempotency_key is not None and earlier.idempotency_key == idempotency_key:
            return VoteResult(
                vote=_render_vote(
                    vote=earlier,
                    assignment_id=assignment.public_id,
                    shown=shown,
                    campaign=campaign,
                    rubric_version=session.scalar(
                        select(Rubric.version).where(Rubric.id == earlier.rubric_id)
                    )
                    if earlier.rubric_id is not None
                    else None,
                ),
                replayed=True,
            )
        raise Conflict("this assignment already has a vote; send the same Idempotency-Key to fetch it")
    if assignment.status == AssignmentStatus.expired or assignment.lease_expires_at <= now:
        expired_at = f"{assignment.lease_expires_at:%Y-%m-%d %H:%M:%S}"
        raise Conflict(
            f"the lease on this assignment expired at {expired_at} "
            "UTC and the comparison went back to the pool; ask for the next task"
        )

    time_on_task_ms = int((now - assignment.leased_at).total_seconds() * 1000)
    rubric = tasks_service.current_rubric(session, campaign_id=campaign.id)
    shown_outputs, questions = _shown_outputs(session, assignment=assignment)
    checked = check_answer(
        campaign=campaign,
        config=task_config(campaign),
        aspects=tasks_service.task_view(campaign, rubric=rubric, questions=[]).aspects if rubric else None,
        questions=questions,
        shown=shown_outputs,
        outcome=data.outcome,
        answer=data.answer,
        time_on_task_ms=time_on_task_ms,
    )
    outcome, winner, loser = _resolve_outcome(data.outcome, assignment)
    vote = Vote(
        assignment_id=assignment.id,
        campaign_id=assignment.campaign_id,
        comparison_id=assignment.comparison_id,
        annotator_id=annotator.id,
        outcome=outcome,
        winner_candidate_id=winner,
        loser_candidate_id=loser,
        strength=check_strength(data),
        rationale=_check_rationale(data, campaign),
        flags=_flags_by_candidate(data=data, shown=shown_outputs, campaign=campaign),
        answer=checked.answer,
        rubric_id=rubric.id if rubric is not None and "ratings" in checked.answer else None,
        listening_log=checked.listening_log,
        time_on_task_ms=time_on_task_ms,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    session.add(vote)
    assignment.status = AssignmentStatus.completed
    assignment.completed_at = now
    try:
        session.flush()
    except IntegrityError as exc:
        # The assignment row is locked and had no vote, so the one unique key left to collide is
        # (annotator, idempotency key): the key was spent on another assignment.
        raise Conflict("this Idempotency-Key was already used for a vote on another assignment") from exc
    session.execute(_COUNT_VOTE, {"b_comparison_id": assignment.comparison_id})
    if campaign.quality:
        qc_service.after_vote(session, campaign=campaign, vote=vote, now=now)
    return VoteResult(
        vote=_render_vote(
            vote=vote,
            assignment_id=assignment.public_id,
            shown=shown,
            campaign=campaign,
            rubric_version=rubric.version if vote.rubric_id is not None and rubric is not None else None,
        ),
        replayed=False,
    )


def _resolve_outcome(
    outcome: VoteOutcome | None, assignment: Assignment
) -> tuple[Outcome | None, int | None, int | None]:
    if outcome is None:
        return None, None, None
    if outcome == "a":
        return Outcome.preference, assignment.left_candidate_id, assignment.right_candidate_id
    if outcome == "b":
        return Outcome.preference, assignment.right_candidate_id, assignment.left_candidate_id
    return Outcome(outcome), None, None


def check_idempotency_key(key: str | None) -> None:
    if key is not None and not 1 <= len(key) <= 200:
        raise Invalid("Idempotency-Key must be 1 to 200 characters", field="Idempotency-Key")


def check_strength(data: VoteCreate) -> int | None:
    """The strength to store (0..3 toward the winner), or Invalid when it does not fit the outcome."""
    if data.strength is None:
        return None
    if data.outcome is None:
        raise Invalid("strength goes with an A/B preference; this vote has none", field="strength")
    if data.outcome in ("tie", "both_bad"):
        if data.strength != 0:
            raise Invalid(f"strength must be 0 or left out for '{data.outcome}'", field="strength")
        return 0
    if data.strength < 0:
        raise Invalid(
            "strength says how much better the chosen side is (0..3); to prefer the other "
            "side, change the outcome",
            field="strength",
        )
    return data.strength


def _check_rationale(data: VoteCreate, campaign: Campaign) -> str:
    rationale = data.rationale.strip()
    if campaign.require_rationale and not rationale:
        raise Invalid("this campaign asks for a rationale with every vote", field="rationale")
    return rationale


def _flags_by_candidate(
    *, data: VoteCreate, shown: list[ShownOutput], campaign: Campaign
) -> dict[str, list[str]]:
    allowed = set(campaign.side_flags)
    flags: dict[str, list[str]] = {}
    for side, names in data.flags.items():
        if side == "b" and len(shown) < 2:
            if names:
                raise Invalid("this task shows one output; flag it as side a", field="flags.b")
            continue
        unknown = sorted(set(names) - allowed)
        if unknown:
            raise Invalid(
                f"unknown flag(s) {', '.join(unknown)}; this campaign allows "
                f"{', '.join(campaign.side_flags) or 'none'}",
                field=f"flags.{side}",
            )
        if names:
            flags[shown[0 if side == "a" else 1].public_id] = sorted(set(names))
    return flags


def _render_vote(
    *, vote: Vote, assignment_id: str, shown: _Shown, campaign: Campaign, rubric_version: int | None = None
) -> VoteRead:
    outcome: VoteOutcome | None = None
    if vote.outcome == Outcome.preference:
        outcome = "a" if vote.winner_candidate_id == shown.left_id else "b"
    elif vote.outcome is not None:
        outcome = "tie" if vote.outcome == Outcome.tie else "both_bad"
    side_of = {shown.left_public: "a", shown.right_public: "b"}
    revealed = {"a": shown.left_system} | ({"b": shown.right_system} if shown.right_system else {})
    return VoteRead(
        id=vote.public_id,
        assignment_id=assignment_id,
        outcome=outcome,
        winner=shown.public(vote.winner_candidate_id) if vote.winner_candidate_id else None,
        strength=vote.strength,
        rationale=vote.rationale,
        flags={side_of[c]: names for c, names in (vote.flags or {}).items() if c in side_of},
        answer=vote.answer or {},
        rubric_version=rubric_version,
        time_on_task_ms=vote.time_on_task_ms,
        created_at=vote.created_at,
        revealed=revealed if campaign.reveal_identities else None,  # type: ignore[arg-type]
    )


def annotator_progress(session: Session, *, campaign: Campaign, annotator: User) -> tuple[int, int]:
    """(votes the annotator gave in the campaign, tasks left for them: their live lease plus open ones)."""
    done = (
        session.scalar(
            select(func.count())
            .select_from(Vote)
            .where(Vote.campaign_id == campaign.id, Vote.annotator_id == annotator.id)
        )
        or 0
    )
    remaining = (
        session.scalar(
            select(func.count())
            .select_from(Comparison)
            .where(
                Comparison.campaign_id == campaign.id,
                Comparison.open_slots > 0,
                ~_seen_by_annotator(Comparison),
            ),
            {"b_annotator_id": annotator.id},
        )
        or 0
    )
    live = (
        session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(
                Assignment.annotator_id == annotator.id,
                Assignment.campaign_id == campaign.id,
                Assignment.status == AssignmentStatus.leased,
                Assignment.lease_expires_at > utcnow(),
            )
        )
        or 0
    )
    return done, remaining + live
