import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db
from app.auth.models import User
from app.campaigns.models import Campaign
from app.db import utcnow
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.items.models import Comparison
from app.voting import service
from app.voting.models import Assignment, AssignmentStatus, Outcome, Vote
from app.voting.schemas import VoteCreate
from tests.factories import SYSTEMS, make_user, seed_campaign


def _annotators(session: Session, n: int) -> list[User]:
    users = [make_user(session, f"ann{i}@example.org") for i in range(n)]
    session.commit()
    return users


def _vote_all(session: Session, campaign: Campaign, user: User, outcome: str = "a") -> int:
    done = 0
    while (task := service.next_assignment(session, campaign=campaign, annotator=user)) is not None:
        service.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=user,
            data=VoteCreate(outcome=outcome),
            idempotency_key=None,
        )
        session.commit()
        done += 1
    return done


def test_each_comparison_gets_exactly_k_votes_from_distinct_annotators(session: Session) -> None:
    campaign = seed_campaign(session, n_items=6, overlap=2)
    users = _annotators(session, 3)
    done = [_vote_all(session, campaign, u) for u in users]
    assert sum(done) == 12 and done[0] == 6
    per_comparison = session.execute(
        select(Vote.comparison_id, func.count(), func.count(func.distinct(Vote.annotator_id))).group_by(
            Vote.comparison_id
        )
    ).all()
    assert len(per_comparison) == 6
    assert all(n == 2 and distinct == 2 for _, n, distinct in per_comparison)
    assert service.next_assignment(session, campaign=campaign, annotator=users[0]) is None


def test_next_resumes_the_live_lease_instead_of_leasing_another(session: Session) -> None:
    campaign = seed_campaign(session, n_items=3)
    (user,) = _annotators(session, 1)
    first = service.next_assignment(session, campaign=campaign, annotator=user)
    again = service.next_assignment(session, campaign=campaign, annotator=user)
    assert first is not None and again is not None and first.assignment_id == again.assignment_id
    assert session.scalar(select(func.count()).select_from(Assignment)) == 1


def test_expired_leases_return_to_the_pool_and_cannot_be_voted(session: Session) -> None:
    campaign = seed_campaign(session, n_items=1, overlap=1)
    alice, bob = _annotators(session, 2)
    task = service.next_assignment(session, campaign=campaign, annotator=alice)
    session.commit()
    assert task is not None
    assert service.next_assignment(session, campaign=campaign, annotator=bob) is None
    later = utcnow() + timedelta(seconds=campaign.lease_seconds + 1)
    with pytest.raises(Conflict, match="expired"):
        service.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=alice,
            data=VoteCreate(outcome="a"),
            idempotency_key=None,
            now=later,
        )
    session.rollback()
    bobs = service.next_assignment(session, campaign=campaign, annotator=bob, now=later)
    assert bobs is not None and bobs.assignment_id != task.assignment_id
    expired = session.scalar(select(Assignment).where(Assignment.public_id == task.assignment_id))
    assert expired is not None and expired.status == AssignmentStatus.expired
    # Nobody is shown the same comparison twice, not even after their own lease ran out.
    assert service.next_assignment(session, campaign=campaign, annotator=alice, now=later) is None


def test_side_order_is_randomised_per_assignment_and_stored(session: Session) -> None:
    campaign = seed_campaign(session, n_items=40)
    (user,) = _annotators(session, 1)
    firsts = Counter()
    for _ in range(40):
        task = service.next_assignment(session, campaign=campaign, annotator=user)
        assert task is not None
        assignment = session.scalar(select(Assignment).where(Assignment.public_id == task.assignment_id))
        comparison = session.get_one(Comparison, assignment.comparison_id)
        assert {assignment.left_candidate_id, assignment.right_candidate_id} == {
            comparison.candidate_a_id,
            comparison.candidate_b_id,
        }
        firsts[assignment.left_candidate_id == comparison.candidate_a_id] += 1
        service.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=user,
            data=VoteCreate(outcome="b"),
            idempotency_key=None,
        )
    assert firsts[True] >= 5 and firsts[False] >= 5  # P(fail) ~ 2e-6 for a fair coin


def test_winner_is_stored_as_a_candidate_not_a_side(session: Session) -> None:
    campaign = seed_campaign(session, n_items=1, reveal_identities=True)
    (user,) = _annotators(session, 1)
    task = service.next_assignment(session, campaign=campaign, annotator=user)
    assert task is not None
    result = service.cast_vote(
        session,
        assignment_id=task.assignment_id,
        annotator=user,
        data=VoteCreate(outcome="b", strength=2),
        idempotency_key="k1",
    )
    vote = session.scalar(select(Vote))
    assignment = session.scalar(select(Assignment))
    assert vote is not None and assignment is not None
    assert vote.outcome == Outcome.preference and vote.strength == 2
    assert vote.winner_candidate_id == assignment.right_candidate_id
    assert vote.loser_candidate_id == assignment.left_candidate_id
    assert result.vote.winner == task.candidates[1].id
    assert result.vote.revealed is not None and set(result.vote.revealed.values()) == set(SYSTEMS[:2])


def test_same_idempotency_key_returns_the_same_vote_and_stores_one(session: Session) -> None:
    campaign = seed_campaign(session, n_items=2)
    (user,) = _annotators(session, 1)
    task = service.next_assignment(session, campaign=campaign, annotator=user)
    assert task is not None
    first = service.cast_vote(
        session,
        assignment_id=task.assignment_id,
        annotator=user,
        data=VoteCreate(outcome="tie"),
        idempotency_key="key-1",
    )
    session.commit()
    retry = service.cast_vote(
        session,
        assignment_id=task.assignment_id,
        annotator=user,
        data=VoteCreate(outcome="tie"),
        idempotency_key="key-1",
    )
    assert retry.replayed and not first.replayed and retry.vote.id == first.vote.id
    assert retry.vote.revealed is None
    with pytest.raises(Conflict, match="already has a vote"):
        service.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=user,
            data=VoteCreate(outcome="a"),
            idempotency_key="key-2",
        )
    second = service.next_assignment(session, campaign=campaign, annotator=user)
    assert second is not None
    with pytest.raises(Conflict, match="another assignment"):
        service.cast_vote(
            session,
            assignment_id=second.assignment_id,
            annotator=user,
            data=VoteCreate(outcome="a"),
            idempotency_key="key-1",
        )
    session.rollback()  # a refused vote aborts its transaction, as the request would
    assert session.scalar(select(func.count()).select_from(Vote)) == 1


def test_votes_are_checked_against_the_campaign(session: Session) -> None:
    campaign = seed_campaign(session, n_items=1, require_rationale=True)
    alice, bob = _annotators(session, 2)
    task = service.next_assignment(session, campaign=campaign, annotator=alice)
    assert task is not None

    def vote(data: VoteCreate, user: User = alice) -> None:
        service.cast_vote(
            session, assignment_id=task.assignment_id, annotator=user, data=data, idempotency_key=None
        )

    with pytest.raises(Forbidden):
        vote(VoteCreate(outcome="a", rationale="mine"), bob)
    with pytest.raises(Invalid, match="rationale"):
        vote(VoteCreate(outcome="a", rationale="   "))
    with pytest.raises(Invalid, match="unknown flag"):
        vote(VoteCreate(outcome="a", rationale="r", flags={"b": ["made-up"]}))
    with pytest.raises(Invalid, match="strength"):
        vote(VoteCreate(outcome="tie", strength=2, rationale="r"))
    with pytest.raises(Invalid, match="other side"):
        vote(VoteCreate(outcome="a", strength=-2, rationale="r"))
    with pytest.raises(NotFound):
        service.cast_vote(
            session, assignment_id="nope", annotator=alice, data=VoteCreate(outcome="a"), idempotency_key=None
        )
    vote(VoteCreate(outcome="a", rationale="B rambles", flags={"b": ["incorrect", "incorrect"]}))
    stored = session.scalar(select(Vote))
    assert stored is not None and list(stored.flags.values()) == [["incorrect"]]
    assert list(stored.flags) == [task.candidates[1].id]


def test_paused_campaigns_hand_out_nothing(session: Session) -> None:
    from app.campaigns.models import CampaignStatus

    campaign = seed_campaign(session, n_items=1, status=CampaignStatus.paused)
    (user,) = _annotators(session, 1)
    with pytest.raises(Conflict, match="paused"):
        service.next_assignment(session, campaign=campaign, annotator=user)


def test_concurrent_annotators_never_over_assign(session: Session) -> None:
    campaign = seed_campaign(session, n_items=15, overlap=2)
    users = _annotators(session, 8)
    errors: list[BaseException] = []
    start = threading.Barrier(len(users))

    def work(user_id: int) -> None:
        try:
            with db.get_sessionmaker()() as own:
                user = own.get_one(User, user_id)
                current = own.get_one(Campaign, campaign.id)
                own.commit()  # on SQLite every transaction holds the write lock; don't wait holding it
                start.wait()
                _vote_all(own, current, user)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(u.id,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    counts = session.execute(
        select(Vote.comparison_id, func.count(), func.count(func.distinct(Vote.annotator_id))).group_by(
            Vote.comparison_id
        )
    ).all()
    assert len(counts) == 15 and all(n == 2 and d == 2 for _, n, d in counts)
    assert session.scalar(select(func.min(Comparison.open_slots))) == 0
    assert session.scalar(select(func.count()).select_from(Assignment)) == 30
