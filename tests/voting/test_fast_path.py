"""The Postgres fast path against the reference service: same rows stored, and it steps aside (changing
nothing) whenever the case is not the plain one."""

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.campaigns.models import Campaign
from app.db import utcnow
from app.items.models import Candidate, Comparison
from app.items.service import import_items
from app.media.models import MediaFile
from app.voting import fast_path, hot_path, service
from app.voting.models import Assignment, AssignmentStatus, Vote
from app.voting.schemas import VoteCreate
from tests.conftest import BACKEND
from tests.factories import make_campaign, make_token, make_user, seed_campaign
from tests.media.samples import media_item_lines

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="the fast path runs on Postgres only")


def _token_for(session: Session, email: str, role: Role = Role.annotator) -> tuple[int, str]:
    user = make_user(session, email, role=role)
    token = make_token(session, user)
    session.commit()
    return user.id, token


def _counts(session: Session) -> tuple[int, int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Assignment)) or 0,
        session.scalar(select(func.count()).select_from(Vote)) or 0,
        session.scalar(select(func.sum(Comparison.open_slots))) or 0,
    )


def test_next_leases_like_the_reference_path_and_resumes_the_live_lease(session: Session) -> None:
    campaign = seed_campaign(session, n_items=3, overlap=2)
    user_id, token = _token_for(session, "fast@example.org")
    now = utcnow()
    task = fast_path.next_assignment(slug="demo", identity=("token", token), now=now, flip=True)
    assert task is not None and task.campaign == "demo"
    again = fast_path.next_assignment(slug="demo", identity=("token", token), now=now, flip=False)
    assert again == task  # the live lease, not a second one

    assignment = session.scalar(select(Assignment).where(Assignment.public_id == task.assignment_id))
    assert assignment is not None and assignment.annotator_id == user_id
    assert assignment.status == AssignmentStatus.leased and assignment.leased_at == now
    assert assignment.lease_expires_at == now + timedelta(seconds=campaign.lease_seconds)
    comparison = session.get_one(Comparison, assignment.comparison_id)
    # flip=True shows candidate b first.
    assert (assignment.left_candidate_id, assignment.right_candidate_id) == (
        comparison.candidate_b_id,
        comparison.candidate_a_id,
    )
    assert comparison.open_slots == 1
    left = session.get_one(Candidate, assignment.left_candidate_id)
    assert task.candidates[0].id == left.public_id
    assert task.candidates[0].content == left.content
    assert task.prompt.startswith("Question")


def test_a_vote_stores_the_same_row_as_the_reference_path(session: Session) -> None:
    seed_campaign(session, slug="fast", n_items=1, reveal_identities=True)
    seed_campaign(session, slug="slow", n_items=1, reveal_identities=True)
    user_id, token = _token_for(session, "fast@example.org")
    identity = ("token", token)
    data = VoteCreate(outcome="b", strength=2, rationale="  clearer  ")
    now = utcnow()

    fast_task = fast_path.next_assignment(slug="fast", identity=identity, now=now, flip=False)
    assert fast_task is not None
    fast_vote = fast_path.cast_vote(
        assignment_id=fast_task.assignment_id,
        identity=identity,
        data=data,
        strength=2,
        idempotency_key="k-fast",
        now=now + timedelta(milliseconds=1500),
    )
    user = session.get_one(service.User, user_id)
    slow_campaign = session.scalar(select(Campaign).where(Campaign.slug == "slow"))
    assert slow_campaign is not None
    slow_task = service.next_assignment(session, campaign=slow_campaign, annotator=user, now=now)
    assert slow_task is not None
    slow_vote = service.cast_vote(
        session,
        assignment_id=slow_task.assignment_id,
        annotator=user,
        data=data,
        idempotency_key="k-slow",
        now=now + timedelta(milliseconds=1500),
    ).vote
    session.commit()

    assert fast_vote is not None
    differ = {"id", "assignment_id", "winner", "revealed"}  # fresh ids, and the side order drawn
    assert fast_vote.model_dump(exclude=differ) == slow_vote.model_dump(exclude=differ)
    assert fast_vote.winner == fast_task.candidates[1].id
    assert fast_vote.revealed is not None and slow_vote.revealed is not None
    assert sorted(fast_vote.revealed.values()) == sorted(slow_vote.revealed.values())

    rows = {v.idempotency_key: v for v in session.scalars(select(Vote))}
    columns = ("outcome", "strength", "rationale", "flags", "time_on_task_ms", "annotator_id")
    assert [getattr(rows["k-fast"], c) for c in columns] == [getattr(rows["k-slow"], c) for c in columns]
    assert rows["k-fast"].time_on_task_ms == 1500 and rows["k-fast"].created_at == now + timedelta(
        milliseconds=1500
    )
    fast_assignment = session.scalar(
        select(Assignment).where(Assignment.public_id == fast_task.assignment_id)
    )
    assert fast_assignment is not None and fast_assignment.status == AssignmentStatus.completed
    assert rows["k-fast"].winner_candidate_id == fast_assignment.right_candidate_id
    assert session.get_one(Comparison, fast_assignment.comparison_id).vote_count == 1


def test_next_shows_media_like_the_reference_path(session: Session, tmp_path: Path) -> None:
    lines = media_item_lines(tmp_path / "files")
    for slug in ("fast", "slow"):
        campaign = make_campaign(session, slug=slug)
        import_items(session, campaign=campaign, lines=lines, media_base=tmp_path / "files")
    session.commit()
    user_id, token = _token_for(session, "fast@example.org")
    now = utcnow()
    fast_task = fast_path.next_assignment(slug="fast", identity=("token", token), now=now, flip=False)
    slow_campaign = session.scalars(select(Campaign).where(Campaign.slug == "slow")).one()
    user = session.get_one(service.User, user_id)
    slow_task = service.next_assignment(session, campaign=slow_campaign, annotator=user, now=now)
    session.commit()

    assert fast_task is not None and slow_task is not None
    # The same files in both campaigns are the same media, so everything but ids and sides is equal.
    shown = [
        sorted((c.model_dump(exclude={"id"}) for c in task.candidates), key=lambda c: c["content"])
        for task in (fast_task, slow_task)
    ]
    assert shown[0] == shown[1] and fast_task.prompt == slow_task.prompt == "Picture 0"
    painter, singer = shown[0]
    assert [m["mime"] for m in painter["media"]] == ["image/png", "image/png"]
    assert singer["content"] == "a song, take 0" and [m["mime"] for m in singer["media"]] == ["audio/wav"]
    # In the order imported: a0.png, then b0.png.
    sha_by_url = {f"/media/{m.public_id}": m.sha256 for m in session.scalars(select(MediaFile))}
    files = [(tmp_path / "files" / name).read_bytes() for name in ("a0.png", "b0.png")]
    assert [sha_by_url[m["url"]] for m in painter["media"]] == [hashlib.sha256(f).hexdigest() for f in files]
    assert "painter" not in fast_task.model_dump_json() and "singer" not in fast_task.model_dump_json()


@pytest.mark.parametrize("case", ["unknown token", "unknown campaign", "paused campaign", "nothing left"])
def test_next_steps_aside_and_changes_nothing(session: Session, case: str) -> None:
    seed_campaign(session, n_items=1)
    _, token = _token_for(session, "fast@example.org")
    identity = ("token", token if case != "unknown token" else "not-a-token")
    if case == "paused campaign":
        session.execute(Campaign.__table__.update().values(status="paused"))
        session.commit()
    if case == "nothing left":
        _, other = _token_for(session, "other@example.org")
        assert fast_path.next_assignment(slug="demo", identity=("token", other), now=utcnow(), flip=False)
    slug = "nope" if case == "unknown campaign" else "demo"
    before = _counts(session)
    assert fast_path.next_assignment(slug=slug, identity=identity, now=utcnow(), flip=False) is None
    assert _counts(session) == before


@pytest.mark.parametrize(
    "case", ["unknown token", "someone else's", "rationale required", "flags", "key spent"]
)
def test_vote_steps_aside_and_changes_nothing(session: Session, case: str) -> None:
    seed_campaign(session, n_items=2, require_rationale=(case == "rationale required"))
    _, token = _token_for(session, "fast@example.org")
    _, other = _token_for(session, "other@example.org")
    identity = ("token", token)
    if case == "key spent":
        spent = fast_path.next_assignment(slug="demo", identity=identity, now=utcnow(), flip=False)
        assert spent is not None
        assert fast_path.cast_vote(
            assignment_id=spent.assignment_id,
            identity=identity,
            data=VoteCreate(outcome="a"),
            strength=None,
            idempotency_key="k",
            now=utcnow(),
        )
    task = fast_path.next_assignment(slug="demo", identity=identity, now=utcnow(), flip=False)
    assert task is not None
    voter = {"unknown token": ("token", "not-a-token"), "someone else's": ("token", other)}.get(
        case, identity
    )
    data = VoteCreate(outcome="a", flags={"a": ["unsafe"]} if case == "flags" else {})
    before = _counts(session)
    voted = fast_path.cast_vote(
        assignment_id=task.assignment_id,
        identity=voter,
        data=data,
        strength=None,
        idempotency_key="k",
        now=utcnow(),
    )
    assert voted is None
    assert _counts(session) == before


def test_expired_lease_and_replays_go_to_the_reference_path(session: Session) -> None:
    campaign = seed_campaign(session, n_items=2)
    _, token = _token_for(session, "fast@example.org")
    identity = ("token", token)
    now = utcnow()
    task = fast_path.next_assignment(slug="demo", identity=identity, now=now, flip=False)
    assert task is not None
    later = now + timedelta(seconds=campaign.lease_seconds + 1)
    args = {"assignment_id": task.assignment_id, "identity": identity}
    expired = fast_path.cast_vote(
        data=VoteCreate(outcome="a"), idempotency_key="k", now=later, strength=None, **args
    )
    assert expired is None

    first = hot_path.cast_vote(data=VoteCreate(outcome="tie"), idempotency_key="k", **args)
    again = hot_path.cast_vote(data=VoteCreate(outcome="tie"), idempotency_key="k", **args)
    assert not first.replayed and again.replayed and again.vote.id == first.vote.id
    assert first.vote.winner is None and first.vote.strength is None
    assert _counts(session)[1] == 1


def test_a_dropped_connection_is_replaced_and_the_statement_resent(session: Session) -> None:
    seed_campaign(session, n_items=2)
    _, token = _token_for(session, "fast@example.org")
    identity = ("token", token)
    task = fast_path.next_assignment(slug="demo", identity=identity, now=utcnow(), flip=False)
    assert task is not None
    # What a database restart does to every pooled connection.
    session.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    session.commit()
    again = fast_path.next_assignment(slug="demo", identity=identity, now=utcnow(), flip=False)
    assert again == task
    vote = fast_path.cast_vote(
        assignment_id=task.assignment_id,
        identity=identity,
        data=VoteCreate(outcome="a"),
        strength=None,
        idempotency_key="k",
        now=utcnow(),
    )
    assert vote is not None and _counts(session)[1] == 1
