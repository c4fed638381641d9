"""Generation jobs through the API: candidates from a live OpenAI-compatible server and a local model,
stored with their metadata, paired into comparisons, duplicates dropped, failures reported."""

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.items.models import Candidate, Comparison
from tests.api_helpers import bearer, wait_for_job
from tests.factories import seed_campaign, seed_campaign_with_votes
from tests.support.openai_server import OpenAIServer


def test_generate_candidates_for_every_item_and_system(
    client: TestClient, session: Session, openai_server: OpenAIServer, tiny_lm
) -> None:
    seed_campaign(session, n_items=3)  # 2 imported candidates and 1 comparison per item
    researcher = bearer(session, "res@example.org", Role.researcher)
    body = {
        "systems": [
            {
                "name": "served",
                "provider": {"kind": "openai", "base_url": openai_server.base_url, "model": "tiny"},
            },
            {"name": "local", "provider": {"kind": "transformers", "path": str(tiny_lm), "device": "cpu"}},
        ],
        "params": {"max_tokens": 6, "temperature": 1.0, "n": 2, "seed": 5},
    }
    r = client.post("/api/v1/campaigns/demo/generate", json=body, headers=researcher)
    assert r.status_code == 202, r.text
    job = wait_for_job(client, researcher, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    added = job["result"]["candidates"]
    assert added + job["result"]["duplicates_dropped"] == 3 * 2 * 2 and added >= 3
    generated = session.scalars(select(Candidate).where(Candidate.system.in_(["served", "local"]))).all()
    assert len(generated) == added
    meta = generated[0].meta
    assert meta["job"] == job["id"] and meta["generation"]["provider"] in ("openai", "transformers")
    assert meta["generation"]["completion_tokens"] and meta["generation"]["latency_ms"] >= 0
    # Every item's candidates are all paired: k candidates give k(k-1)/2 comparisons.
    per_item = session.execute(select(Candidate.item_id, func.count()).group_by(Candidate.item_id)).all()
    expected = sum(k * (k - 1) // 2 for _, k in per_item)
    assert session.scalar(select(func.count()).select_from(Comparison)) == expected
    contents = [(c.item_id, c.content) for c in session.scalars(select(Candidate))]
    assert len(contents) == len(set(contents))  # no duplicate within an item


def test_a_failing_endpoint_fails_the_job_with_its_message(
    client: TestClient, session: Session, openai_server: OpenAIServer
) -> None:
    seed_campaign(session, n_items=1)
    researcher = bearer(session, "res@example.org", Role.researcher)
    openai_server.mode = "fail"
    body = {
        "systems": [
            {"name": "s", "provider": {"kind": "openai", "base_url": openai_server.base_url, "model": "m"}}
        ]
    }
    job = wait_for_job(
        client,
        researcher,
        client.post("/api/v1/campaigns/demo/generate", json=body, headers=researcher).json()["id"],
    )
    assert job["status"] == "failed" and "HTTP 500" in job["error"] and job["error"].startswith("s:")
    bad = client.post("/api/v1/campaigns/demo/generate", json={"systems": []}, headers=researcher)
    assert bad.status_code == 422
    secret = {
        "systems": [
            {
                "name": "s",
                "provider": {"kind": "openai", "base_url": "http://x/v1", "model": "m", "api_key": "sk-1"},
            }
        ]
    }
    assert client.post("/api/v1/campaigns/demo/generate", json=secret, headers=researcher).status_code == 422


def test_new_candidates_are_scored_by_the_active_reward_model(
    client: TestClient, session: Session, tiny_lm
) -> None:
    seed_campaign_with_votes(session, n_items=16)
    researcher = bearer(session, "res@example.org", Role.researcher)
    trained = wait_for_job(
        client,
        researcher,
        client.post("/api/v1/campaigns/demo/reward-models", json={}, headers=researcher).json()["id"],
    )
    assert trained["status"] == "succeeded", trained["error"]
    model_id = trained["result"]["reward_model"]
    assert client.post(f"/api/v1/reward-models/{model_id}/activate", headers=researcher).status_code == 200

    body = {
        "systems": [
            {"name": "local", "provider": {"kind": "transformers", "path": str(tiny_lm), "device": "cpu"}}
        ],
        "params": {"max_tokens": 5, "temperature": 1.0, "seed": 2},
        "item_ids": ["q0", "q1"],
    }
    job = wait_for_job(
        client,
        researcher,
        client.post("/api/v1/campaigns/demo/generate", json=body, headers=researcher).json()["id"],
    )
    assert job["status"] == "succeeded" and job["result"]["candidates"] >= 1
    scoring = wait_for_job(client, researcher, job["result"]["scoring_job"])
    assert scoring["status"] == "succeeded", scoring["error"]
    scores = client.get(f"/api/v1/reward-models/{model_id}/scores?limit=5000", headers=researcher).json()
    assert {"local"} <= {s["system"] for s in scores} and len(scores) == 32 + job["result"]["candidates"]
