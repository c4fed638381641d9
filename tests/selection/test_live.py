"""Selection in the assignment service: an active campaign hands out the system pairs whose next vote
tells most about the ranking, spreads concurrent annotators over pairs, and falls back cleanly."""

import json
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.campaigns.schemas import CampaignUpdate
from app.campaigns.service import update_campaign
from app.items.models import PAIR_SEPARATOR, Comparison
from app.items.service import import_items
from app.selection import live
from app.voting import service as voting_service
from app.voting.models import Assignment
from app.voting.schemas import VoteCreate
from tests.api_helpers import bearer
from tests.conftest import BACKEND
from tests.factories import make_campaign, make_user

SYSTEMS = ["s0", "s1", "s2", "s3"]  # true order: s0 best (its answers are the longest)


def _campaign(session: Session, n_items: int, **selection: object) -> Campaign:
    campaign = make_campaign(session, selection=selection or {})
    lines = [
        json.dumps(
            {
                "id": f"q{i}",
                "prompt": f"Question {i}",
                "candidates": [
                    {"system": s, "content": f"answer {i} " + "word " * (len(SYSTEMS) - k)}
                    for k, s in enumerate(SYSTEMS)
                ],
            }
        )
        for i in range(n_items)
    ]
    import_items(session, campaign=campaign, lines=lines)
    session.commit()
    live.forget(campaign.id)
    return campaign


def _vote_longer(session: Session, campaign: Campaign, annotator: User) -> str | None:
    """The annotator's next task, voted for the longer answer; returns its pair key."""
    task = voting_service.next_assignment(session, campaign=campaign, annotator=annotator)
    if task is None:
        session.commit()
        return None
    a, b = task.candidates
    voting_service.cast_vote(
        session,
        assignment_id=task.assignment_id,
        annotator=annotator,
        data=VoteCreate(outcome="a" if len(a.content) > len(b.content) else "b"),
        idempotency_key=None,
    )
    key = session.scalar(
        select(Comparison.pair_key)
        .join(Assignment, Assignment.comparison_id == Comparison.id)
        .where(Assignment.public_id == task.assignment_id)
    )
    session.commit()
    return key


def _adjacent(key: str) -> bool:
    first, second = key.split(PAIR_SEPARATOR)
    return abs(SYSTEMS.index(first) - SYSTEMS.index(second)) == 1


def test_pairs_are_stored_with_their_systems(session: Session) -> None:
    _campaign(session, n_items=1)
    keys = session.scalars(select(Comparison.pair_key)).all()
    assert sorted(keys) == sorted(
        PAIR_SEPARATOR.join(sorted((a, b))) for i, a in enumerate(SYSTEMS) for b in SYSTEMS[i + 1 :]
    )


def test_active_selection_spends_votes_where_the_order_is_still_open(session: Session) -> None:
    campaign = _campaign(session, n_items=40)
    annotators = [make_user(session, f"ann{k}@example.org") for k in range(4)]
    session.commit()
    for annotator in annotators[:2]:  # the ordered warm-up: every pair of the first items
        for _ in range(12):
            _vote_longer(session, campaign, annotator)
    update_campaign(
        session,
        campaign=campaign,
        data=CampaignUpdate(selection={"strategy": "active", "uniform_fraction": 0.0, "refresh_s": 0}),
    )
    session.commit()
    picks = [_vote_longer(session, campaign, annotators[2 + k % 2]) for k in range(40)]
    assert None not in picks
    # Far-apart systems (s0 against s3) are settled after a few votes; neighbours are what is uncertain.
    share = sum(_adjacent(key) for key in picks) / len(picks)
    assert share >= 0.8, Counter(picks)


def test_uniform_selection_covers_every_open_pair(session: Session) -> None:
    campaign = _campaign(session, n_items=40, strategy="uniform", refresh_s=0)
    annotator = make_user(session, "ann@example.org")
    session.commit()
    picks = Counter(_vote_longer(session, campaign, annotator) for _ in range(120))
    # 20 expected per pair; under 5 would be 3.7 standard deviations low.
    assert len(picks) == 6 and min(picks.values()) >= 5, picks


def test_concurrent_annotators_are_spread_over_pairs(session: Session) -> None:
    campaign = _campaign(session, n_items=5, strategy="active", uniform_fraction=0.0, refresh_s=0)
    annotators = [make_user(session, f"ann{k}@example.org") for k in range(3)]
    session.commit()
    leased = []
    for annotator in annotators:
        task = voting_service.next_assignment(session, campaign=campaign, annotator=annotator)
        assert task is not None
        leased.append(
            session.scalar(
                select(Comparison.pair_key)
                .join(Assignment, Assignment.comparison_id == Comparison.id)
                .where(Assignment.public_id == task.assignment_id)
            )
        )
        session.commit()
    assert len(set(leased)) == 3, leased


def test_a_pair_with_nothing_left_falls_back_to_any_open_comparison(session: Session) -> None:
    campaign = _campaign(session, n_items=1, strategy="active", refresh_s=0)
    annotator = make_user(session, "ann@example.org")
    session.commit()
    picks = [_vote_longer(session, campaign, annotator) for _ in range(7)]
    assert sorted(filter(None, picks)) == sorted(session.scalars(select(Comparison.pair_key)).all())
    assert picks[-1] is None


def test_selection_is_set_through_the_api(client: TestClient, session: Session) -> None:
    make_campaign(session)
    session.commit()
    researcher = bearer(session, "res@example.org", role="researcher")
    r = client.patch(
        "/api/v1/campaigns/demo",
        json={"selection": {"strategy": "active", "uniform_fraction": 0.2, "min_per_pair": 2}},
        headers=researcher,
    )
    assert r.status_code == 200, r.text
    assert r.json()["selection"] | {} == {
        "strategy": "active",
        "target": "systems",
        "criterion": "ranking",
        "uniform_fraction": 0.2,
        "min_per_pair": 2,
        "refresh_s": 2.0,
    }
    r = client.patch("/api/v1/campaigns/demo", json={"selection": {"strategy": "greedy"}}, headers=researcher)
    assert r.status_code == 422
    r = client.patch(
        "/api/v1/campaigns/demo", json={"selection": {"uniform_fraction": 1.5}}, headers=researcher
    )
    assert r.status_code == 422


@pytest.mark.skipif(BACKEND != "postgres", reason="the fast path runs on Postgres only")
def test_the_fast_path_leaves_selection_campaigns_to_the_service(
    client: TestClient, session: Session
) -> None:
    from app.db import utcnow
    from app.voting import fast_path

    _campaign(session, n_items=2, strategy="active")
    annotator = bearer(session, "ann@example.org")
    token = annotator["Authorization"].removeprefix("Bearer ")
    assert fast_path.next_assignment(slug="demo", identity=("token", token), now=utcnow(), flip=False) is None
    assert client.get("/api/v1/campaigns/demo/next", headers=annotator).status_code == 200


def test_the_setup_page_reports_the_posterior_and_the_spread_of_votes(
    client: TestClient, session: Session
) -> None:
    from tests.api_helpers import sign_in

    campaign = _campaign(session, n_items=10, strategy="active", refresh_s=0)
    annotator = make_user(session, "ann@example.org")
    make_user(session, "res@example.org", role="researcher")
    session.commit()
    while _vote_longer(session, campaign, annotator) is not None:  # every comparison, 10 per pair
        pass
    sign_in(client, "res@example.org")
    page = client.get("/campaigns/demo/setup").text
    assert "60 votes over 6 of 6 system pairs (per pair: min 10, median 10, max 10)" in " ".join(page.split())
    # The longest answers (s0) win every time: it heads the table, s3 closes it.
    rows = [line for line in page.splitlines() if line.strip().startswith("<tr><td>s")]
    assert [row.split("<td>")[1].split("</td>")[0] for row in rows] == SYSTEMS
    assert "A vote is worth most now on:" in page
