"""Reward-data selection in the running app: a job orders the open comparisons by what a label would
teach the active reward model, and the assignment service hands them out in that order."""

import json
import random

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.items.models import Comparison
from app.items.service import import_items
from app.rewards.models import CandidateScore
from app.voting import service as voting_service
from app.voting.models import Assignment
from app.voting.schemas import VoteCreate
from tests.api_helpers import bearer, wait_for_job
from tests.factories import make_campaign, make_user, seed_campaign


def _wait_for_all(client: TestClient, researcher: dict[str, str]) -> list[dict]:
    jobs = client.get("/api/v1/jobs?campaign=demo", headers=researcher).json()
    return [wait_for_job(client, researcher, job["id"]) for job in jobs]


def _lines(n: int) -> list[str]:
    """Pairs whose answers differ in length by 1 to 12 words, either side longer: a model that learns
    "longer is better" is sure of some pairs and unsure of others."""
    rng = random.Random(7)
    lines = []
    for i in range(n):
        short, extra = rng.randint(1, 6), rng.choice([1, 1, 2, 4, 8, 12])
        lengths = [short, short + extra] if i % 2 else [short + extra, short]
        lines.append(
            json.dumps(
                {
                    "id": f"q{i}",
                    "prompt": f"Question {i}",
                    "candidates": [
                        {"system": system, "content": f"answer {i}: " + "fine point, " * length}
                        for system, length in zip(("x", "y"), lengths, strict=True)
                    ],
                }
            )
        )
    return lines


def test_open_comparisons_are_ordered_for_the_active_reward_model(
    client: TestClient, session: Session
) -> None:
    campaign = make_campaign(session)
    import_items(session, campaign=campaign, lines=_lines(60))
    annotator = make_user(session, "ann@example.org")
    session.commit()
    for _ in range(30):  # half the pool labelled: the longer answer wins
        task = voting_service.next_assignment(session, campaign=campaign, annotator=annotator)
        a, b = task.candidates
        voting_service.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=annotator,
            data=VoteCreate(outcome="a" if len(a.content) > len(b.content) else "b"),
            idempotency_key=None,
        )
        session.commit()
    researcher = bearer(session, "res@example.org", Role.researcher)
    r = client.post("/api/v1/campaigns/demo/selection/prioritise", headers=researcher)
    assert r.status_code == 409 and "reward_data" in r.json()["detail"]

    r = client.post(
        "/api/v1/campaigns/demo/reward-models", json={"encoder": "hashing", "epochs": 6}, headers=researcher
    )
    job = wait_for_job(client, researcher, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    model_id = job["result"]["reward_model"]
    client.post(f"/api/v1/reward-models/{model_id}/activate", headers=researcher)
    selection = {"strategy": "active", "target": "reward_data", "uniform_fraction": 0.0}
    r = client.patch("/api/v1/campaigns/demo", json={"selection": selection}, headers=researcher)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/reward-models/{model_id}/score", headers=researcher)
    scored = wait_for_job(client, researcher, r.json()["id"])
    assert scored["status"] == "succeeded" and scored["result"]["prioritise_job"], scored
    jobs = _wait_for_all(client, researcher)
    prioritised = [j for j in jobs if j["kind"] == "preflab.selection.prioritise"]
    assert len(prioritised) == 2 and all(j["status"] == "succeeded" for j in prioritised), [
        j["error"] for j in prioritised
    ]
    last = max(prioritised, key=lambda j: j["created_at"])
    assert last["result"]["prioritised"] == 30 and last["result"]["labelled"] == 30
    assert last["result"]["reward_model_version"] == 1

    session.rollback()
    scores = dict(session.execute(select(CandidateScore.candidate_id, CandidateScore.score)).all())
    open_rows = session.execute(
        select(
            Comparison.id, Comparison.priority, Comparison.candidate_a_id, Comparison.candidate_b_id
        ).where(Comparison.open_slots > 0)
    ).all()
    assert sorted(p for _, p, _, _ in open_rows) == list(range(1, 31))
    by_priority = sorted(open_rows, key=lambda row: -row[1])
    assert last["result"]["first"] == [row[0] for row in by_priority[:20]]
    # The order is the design's, not the import order it replaces.
    assert [row[0] for row in by_priority] != sorted(row[0] for row in open_rows)
    assert all(a in scores and b in scores for _, _, a, b in open_rows)
    session.rollback()

    # The assignment service follows the order: a new annotator gets the top comparison first.
    newcomer = make_user(session, "new@example.org")
    session.commit()
    task = voting_service.next_assignment(session, campaign=campaign, annotator=newcomer)
    handed = session.scalar(
        select(Assignment.comparison_id).where(Assignment.public_id == task.assignment_id)
    )
    assert handed == by_priority[0][0]


def test_without_a_reward_model_the_order_rests_on_coverage_alone(
    client: TestClient, session: Session
) -> None:
    seed_campaign(session, n_items=12)
    researcher = bearer(session, "res@example.org", Role.researcher)
    selection = {"strategy": "active", "target": "reward_data"}
    assert (
        client.patch("/api/v1/campaigns/demo", json={"selection": selection}, headers=researcher).status_code
        == 200
    )
    (job,) = _wait_for_all(client, researcher)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["prioritised"] == 12 and job["result"]["reward_model_version"] is None, (
        job["result"],
        job["message"],
    )
    assert "no reward model yet" in job["message"]
