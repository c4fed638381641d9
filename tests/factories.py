"""Builders for test data, going through the same services the app uses."""

import json
from typing import Any

from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.service import create_token, create_user
from app.campaigns.models import Campaign
from app.campaigns.schemas import CampaignCreate
from app.campaigns.service import create_campaign
from app.items.service import import_items
from app.voting import service as voting_service
from app.voting.schemas import VoteCreate

PASSWORD = "correct horse battery staple"
SYSTEMS = ("alpha-7b", "beta-13b", "gamma-70b")


def make_user(session: Session, email: str, role: Role = Role.annotator) -> User:
    user = create_user(session, email=email, password=PASSWORD, role=role)
    session.flush()
    return user


def make_token(session: Session, user: User) -> str:
    return create_token(session, user=user, name="test")


def make_campaign(session: Session, slug: str = "demo", **fields: Any) -> Campaign:
    data = CampaignCreate(slug=slug, name=fields.pop("name", slug.title()), **fields)
    return create_campaign(session, data=data, created_by=None)


def item_lines(n: int, systems: tuple[str, ...] = SYSTEMS[:2], prefix: str = "q") -> list[str]:
    """n items, each with one candidate per system; contents never mention the system."""
    return [
        json.dumps(
            {
                "id": f"{prefix}{i}",
                "prompt": f"Question {i}: explain topic {i}.",
                "tags": ["test"],
                "candidates": [
                    {"system": s, "content": f"Answer {k} to question {i}: " + "word " * (k + 1)}
                    for k, s in enumerate(systems)
                ],
            }
        )
        for i in range(n)
    ]


def seed_campaign(session: Session, slug: str = "demo", n_items: int = 5, **fields: Any) -> Campaign:
    campaign = make_campaign(session, slug=slug, **fields)
    import_items(session, campaign=campaign, lines=item_lines(n_items))
    session.commit()
    return campaign


def seed_campaign_with_votes(session: Session, n_items: int) -> Campaign:
    """A campaign whose one annotator voted every comparison for the longer answer (strength 2)."""
    campaign = seed_campaign(session, n_items=n_items)
    annotator = make_user(session, "ann@example.org")
    session.commit()
    while (
        task := voting_service.next_assignment(session, campaign=campaign, annotator=annotator)
    ) is not None:
        a, b = task.candidates
        voting_service.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=annotator,
            data=VoteCreate(outcome="a" if len(a.content) > len(b.content) else "b", strength=2),
            idempotency_key=None,
        )
        session.commit()
    session.commit()
    return campaign
