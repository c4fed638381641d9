"""Hand-made campaigns for release tests: votes cast through the voting service for fixed candidates."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.items.models import Candidate, Comparison, Item
from app.voting import service as voting
from app.voting.models import Assignment, Vote
from app.voting.schemas import VoteCreate
from tests.factories import make_user, seed_campaign


def vote(session: Session, campaign: Campaign, user: User, outcome: str) -> None:
    """`outcome` is first / second (the comparison's own candidate order, whatever side it was shown on),
    tie or both_bad."""
    task = voting.next_assignment(session, campaign=campaign, annotator=user)
    assert task is not None
    side = outcome
    if outcome in ("first", "second"):
        assignment = session.scalars(
            select(Assignment).where(Assignment.public_id == task.assignment_id)
        ).one()
        comparison = session.get_one(Comparison, assignment.comparison_id)
        first = session.get_one(Candidate, comparison.candidate_a_id).public_id
        shown_first = task.candidates[0].id == first
        side = "a" if (outcome == "first") == shown_first else "b"
    voting.cast_vote(
        session,
        assignment_id=task.assignment_id,
        annotator=user,
        data=VoteCreate(outcome=side, strength=2 if outcome in ("first", "second") else None),
        idempotency_key=None,
    )
    session.commit()


# Per annotator, the outcome on comparisons 1, 2, 3 (each annotator gets them in id order):
# comparison 1: first, first, second      -> 2/1/0/0, majority first
# comparison 2: tie, tie, first           -> 1/0/2/0, majority tie
# comparison 3: second, both_bad, first   -> 1/1/0/1, no strict plurality
PLAN = [("first", "tie", "second"), ("first", "tie", "both_bad"), ("second", "first", "first")]


def three_voters(session: Session, slug: str = "demo", overlap: int = 3) -> Campaign:
    campaign = seed_campaign(session, slug=slug, n_items=3, overlap=overlap, license="cc-by-4.0")
    users = [make_user(session, f"{slug}-u{i}@example.org") for i in range(3)]
    session.commit()
    for user, outcomes in zip(users, PLAN, strict=True):
        for outcome in outcomes:
            vote(session, campaign, user, outcome)
    return campaign


def add_item_votes(session: Session, campaign: Campaign, email: str, n: int) -> None:
    """One more annotator who votes `first` on up to n comparisons."""
    user = make_user(session, email)
    session.commit()
    for _ in range(n):
        vote(session, campaign, user, "first")


def make_gold(session: Session, campaign: Campaign, external_id: str, correct: bool) -> None:
    """Turns an item with votes into a gold item whose votes were scored (as part G's scoring stores it)."""
    item = session.scalars(
        select(Item).where(Item.campaign_id == campaign.id, Item.external_id == external_id)
    ).one()
    item.role = "gold"
    item.gold_answer = {"outcome": "tie"}
    comparison_ids = select(Comparison.id).where(Comparison.item_id == item.id)
    for v in session.scalars(select(Vote).where(Vote.comparison_id.in_(comparison_ids))):
        v.gold_correct = correct
    session.commit()
