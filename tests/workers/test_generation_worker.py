"""Generation on a real worker: two systems (an OpenAI-compatible server and a local transformers
model) in one job, then the follow-up job that scores the new candidates with the active model."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import config
from app.auth.models import Role
from app.items.models import Candidate
from tests.api_helpers import bearer, wait_for_job
from tests.factories import seed_campaign_with_votes
from tests.support.openai_server import OpenAIServer

pytestmark = pytest.mark.worker


def test_generate_then_score_on_a_real_worker(
    client: TestClient,
    session: Session,
    worker: dict[str, str],
    openai_server: OpenAIServer,
    tiny_lm,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFLAB_REDIS_URL", worker["PREFLAB_REDIS_URL"])
    config.get_settings.cache_clear()
    seed_campaign_with_votes(session, n_items=12)
    researcher = bearer(session, "res@example.org", Role.researcher)
    trained = wait_for_job(
        client,
        researcher,
        client.post("/api/v1/campaigns/demo/reward-models", json={"epochs": 2}, headers=researcher).json()[
            "id"
        ],
    )
    assert trained["status"] == "succeeded", trained["error"]
    model_id = trained["result"]["reward_model"]
    client.post(f"/api/v1/reward-models/{model_id}/activate", headers=researcher)

    body = {
        "systems": [
            {
                "name": "served",
                "provider": {"kind": "openai", "base_url": openai_server.base_url, "model": "tiny"},
            },
            {"name": "local", "provider": {"kind": "transformers", "path": str(tiny_lm), "device": "cpu"}},
        ],
        "params": {"max_tokens": 5, "temperature": 1.0, "seed": 3},
        "item_ids": ["q0", "q1", "q2"],
    }
    r = client.post("/api/v1/campaigns/demo/generate", json=body, headers=researcher)
    assert r.status_code == 202, r.text
    job = wait_for_job(client, researcher, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    new = session.scalars(select(Candidate).where(Candidate.system.in_(["served", "local"]))).all()
    assert len(new) == job["result"]["candidates"] >= 2
    assert {c.meta["generation"]["provider"] for c in new} <= {"openai", "transformers"}
    new_ids = {c.public_id for c in new}
    session.rollback()  # a SQLite transaction holds the write lock (BEGIN IMMEDIATE): end it
    scoring = wait_for_job(client, researcher, job["result"]["scoring_job"])
    assert scoring["status"] == "succeeded", scoring["error"]
    scores = client.get(f"/api/v1/reward-models/{model_id}/scores?limit=5000", headers=researcher).json()
    assert new_ids <= {s["candidate_id"] for s in scores}
