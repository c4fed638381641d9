"""Jobs over HTTP: started by a domain route, dispatched after the commit, followed, cancelled, retried."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.jobs import service
from tests.api_helpers import bearer, wait_for_job
from tests.factories import seed_campaign


def test_a_job_runs_in_process_without_redis_and_fails_clearly(client: TestClient, session: Session) -> None:
    seed_campaign(session, n_items=2)
    researcher = bearer(session, "res@example.org", Role.researcher)
    r = client.post("/api/v1/campaigns/demo/reward-models", json={"encoder": "hashing"}, headers=researcher)
    assert r.status_code == 202, r.text
    job = wait_for_job(client, researcher, r.json()["id"])
    assert job["status"] == "failed" and "at least 10" in job["error"] and job["campaign"] == "demo"
    listed = client.get("/api/v1/jobs?campaign=demo", headers=researcher).json()
    assert [j["id"] for j in listed] == [job["id"]]

    retried = client.post(f"/api/v1/jobs/{job['id']}/retry", headers=researcher)
    assert retried.status_code == 200
    again = wait_for_job(client, researcher, job["id"])
    assert again["status"] == "failed" and again["attempts"] == 2
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=researcher).status_code == 409


def test_cancel_a_queued_job_and_guard_the_routes(client: TestClient, session: Session) -> None:
    campaign = seed_campaign(session, n_items=1)
    job = service.create_job(session, kind="preflab.rewards.train", params={}, campaign=campaign)
    session.commit()
    researcher = bearer(session, "res@example.org", Role.researcher)
    annotator = bearer(session, "ann@example.org")
    assert client.get("/api/v1/jobs", headers=annotator).status_code == 403
    assert client.get("/api/v1/jobs").status_code == 401
    assert client.get("/api/v1/jobs/nope", headers=researcher).status_code == 404
    r = client.post(f"/api/v1/jobs/{job.public_id}/cancel", headers=researcher)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    bad = client.post("/api/v1/campaigns/demo/reward-models", json={"epochs": 0}, headers=researcher)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "epochs"
    assert client.post("/api/v1/campaigns/nope/reward-models", json={}, headers=researcher).status_code == 404
