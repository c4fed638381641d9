"""Reward-model jobs end to end on a real worker: train from votes, a version appears, activate it,
score the campaign's candidates with it."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import config
from app.auth.models import Role
from tests.api_helpers import bearer, wait_for_job
from tests.factories import seed_campaign_with_votes

pytestmark = pytest.mark.worker


def test_train_activate_and_score_on_a_real_worker(
    client: TestClient, session: Session, worker: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFLAB_REDIS_URL", worker["PREFLAB_REDIS_URL"])
    config.get_settings.cache_clear()
    seed_campaign_with_votes(session, n_items=40)
    researcher = bearer(session, "res@example.org", Role.researcher)

    r = client.post(
        "/api/v1/campaigns/demo/reward-models",
        json={"encoder": "hashing", "epochs": 5, "weight_by_strength": True},
        headers=researcher,
    )
    assert r.status_code == 202, r.text
    job = wait_for_job(client, researcher, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["points"], "the training curve was not reported"
    versions = client.get("/api/v1/campaigns/demo/reward-models", headers=researcher).json()
    assert len(versions) == 1 and versions[0]["version"] == 1 and not versions[0]["is_active"]
    model = versions[0]
    assert model["data_snapshot"]["n_pairs"] == 40 and len(model["data_snapshot"]["sha256"]) == 64
    assert (
        0 <= model["metrics"]["accuracy"] <= 1
        and model["metrics"]["n"] == model["data_snapshot"]["n_held_out"]
    )

    activated = client.post(f"/api/v1/reward-models/{model['id']}/activate", headers=researcher).json()
    assert activated["is_active"]
    r = client.post(f"/api/v1/reward-models/{model['id']}/score", headers=researcher)
    scored = wait_for_job(client, researcher, r.json()["id"])
    assert scored["status"] == "succeeded", scored["error"]
    scores = client.get(f"/api/v1/reward-models/{model['id']}/scores?limit=5000", headers=researcher).json()
    assert len(scores) == 80 and all(isinstance(s["score"], float) for s in scores)
    # Annotators never see scores.
    annotator = bearer(session, "other@example.org")
    assert client.get(f"/api/v1/reward-models/{model['id']}/scores", headers=annotator).status_code == 403


def test_two_versions_trained_on_a_real_worker_compare_side_by_side(
    client: TestClient, session: Session, worker: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFLAB_REDIS_URL", worker["PREFLAB_REDIS_URL"])
    config.get_settings.cache_clear()
    seed_campaign_with_votes(session, n_items=30)
    researcher = bearer(session, "res@example.org", Role.researcher)
    ids = []
    for settings in ({"epochs": 2}, {"epochs": 6, "weight_by_strength": True}):
        r = client.post("/api/v1/campaigns/demo/reward-models", json=settings, headers=researcher)
        job = wait_for_job(client, researcher, r.json()["id"])
        assert job["status"] == "succeeded", job["error"]
        model_id = job["result"]["reward_model"]
        scored = wait_for_job(
            client,
            researcher,
            client.post(f"/api/v1/reward-models/{model_id}/score", headers=researcher).json()["id"],
        )
        assert scored["status"] == "succeeded", scored["error"]
        ids.append(model_id)
    body = client.get(f"/api/v1/reward-models/{ids[0]}/compare/{ids[1]}", headers=researcher).json()
    assert body["same_data"] is True and (body["a"]["version"], body["b"]["version"]) == (1, 2)
    changed = {c["key"]: (c["a"], c["b"]) for c in body["config_changes"]}
    assert changed == {"epochs": (2, 6), "weight_by_strength": (False, True)}
    assert set(body["metric_deltas"]) >= {"accuracy", "log_loss", "ece"}
    assert body["n_scored_by_both"] == 60 and -1 <= body["score_correlation"] <= 1
    assert body["agreement_a"]["n_all"] == 30 and 0 <= body["agreement_a"]["all_votes"] <= 1
