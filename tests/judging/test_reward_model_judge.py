"""The campaign's reward model as a judge: the higher score wins, confidence sigmoid(margin), always
swap-consistent; its votes are flagged like any judge's."""

import math

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign
from app.items.models import Comparison
from app.rewards import service as rewards_service
from app.voting.models import Vote
from tests.api_helpers import wait_for_job


def test_the_active_reward_model_judges_by_score_difference(
    client: TestClient, session: Session, campaign: Campaign, researcher: dict[str, str]
) -> None:
    model = rewards_service.record_version(
        session,
        campaign_id=campaign.id,
        job=None,
        config={},
        data_snapshot={},
        metrics={},
        curve=[],
        artifact_path="/nowhere",
    )
    rewards_service.activate(session, model=model)
    pairs = session.execute(
        select(Comparison.candidate_a_id, Comparison.candidate_b_id).order_by(Comparison.id)
    ).all()
    # a wins the first pair by 1.5, b the others by 0.5; the last pair is within the tie margin.
    scores = {}
    for k, (a, b) in enumerate(pairs):
        scores[a], scores[b] = (1.5, 0.0) if k == 0 else ((0.0, 0.5) if k < 3 else (0.0, 0.05))
    rewards_service.store_scores(session, model=model, scores=scores)
    session.commit()

    r = client.post(
        "/api/v1/campaigns/demo/judges",
        json={"name": "rm", "provider": {"kind": "reward_model", "tie_margin": 0.1}},
        headers=researcher,
    )
    assert r.status_code == 201 and r.json()["queue"] == "cpu"
    judge = r.json()
    run = client.post(f"/api/v1/judges/{judge['id']}/run", json={}, headers=researcher)
    assert run.status_code == 202 and run.json()["params"]["reward_model"] == model.public_id
    job = wait_for_job(client, researcher, run.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    judgements = client.get(f"/api/v1/judges/{judge['id']}/judgements", headers=researcher).json()[
        "judgements"
    ]
    assert [j["label"] for j in judgements] == ["a", "b", "b", "tie"]
    assert all(j["swap_consistent"] for j in judgements)
    assert judgements[0]["confidence"] == pytest.approx(1 / (1 + math.exp(-1.5)))
    assert judgements[1]["confidence"] == pytest.approx(1 / (1 + math.exp(-0.5)))
    assert judgements[1]["forward"]["verdict"] == "second" and judgements[1]["backward"]["verdict"] == "first"
    session.commit()
    kinds = session.scalars(select(User.kind).join(Vote, Vote.annotator_id == User.id)).all()
    assert kinds == [UserKind.model] * 4
    session.commit()
