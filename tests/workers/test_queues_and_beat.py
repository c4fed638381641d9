"""`preflab worker` as a GPU host runs it (the gpu queue only, one process), and with --beat as the
periodic scheduler: both real Celery processes on real Redis."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import config
from app.auth.models import Role
from app.db import utcnow
from app.voting import service as voting_service
from app.voting.models import Assignment, AssignmentStatus
from tests.api_helpers import bearer, wait_for_job
from tests.factories import make_user, seed_campaign, seed_campaign_with_votes
from tests.support.workers import preflab_worker

pytestmark = pytest.mark.worker


def test_a_gpu_worker_trains_a_job_sent_to_the_gpu_queue(
    client: TestClient,
    session: Session,
    cli_env: dict[str, str],
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFLAB_REDIS_URL", redis_url)
    config.get_settings.cache_clear()
    seed_campaign_with_votes(session, n_items=20)
    researcher = bearer(session, "res@example.org", Role.researcher)
    env = {**cli_env, "PREFLAB_REDIS_URL": redis_url}
    log = tmp_path / "gpu-worker.log"
    with preflab_worker(env, log, "--queues", "gpu", "--concurrency", "1"):
        r = client.post(
            "/api/v1/campaigns/demo/reward-models",
            json={"encoder": "hashing", "epochs": 2, "queue": "gpu"},
            headers=researcher,
        )
        assert r.status_code == 202 and r.json()["queue"] == "gpu", r.text
        job = wait_for_job(client, researcher, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    text = log.read_text()
    assert "gpu" in text and "preflab.rewards.train" in text, text[-2000:]


def test_beat_hands_expired_leases_back_on_its_own(
    session: Session, cli_env: dict[str, str], redis_url: str, tmp_path: Path
) -> None:
    campaign = seed_campaign(session, n_items=2, overlap=1)
    user = make_user(session, "w@example.org")
    session.commit()
    assert voting_service.next_assignment(session, campaign=campaign, annotator=user) is not None
    session.execute(update(Assignment).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    env = {**cli_env, "PREFLAB_REDIS_URL": redis_url, "PREFLAB_RECLAIM_LEASES_EVERY_S": "1"}
    log = tmp_path / "beat-worker.log"
    # Nobody sends the task: only the scheduler can.
    with preflab_worker(env, log, "--queues", "default", "--concurrency", "1", "--beat"):
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            status = session.scalar(select(Assignment.status))
            session.rollback()  # end the read, or SQLite holds the worker's write back
            if status == AssignmentStatus.expired:
                break
            time.sleep(0.5)
    assert status == AssignmentStatus.expired, log.read_text()[-3000:]
    # Beat keeps its schedule with the instance's data (shelve may add a suffix).
    assert any(Path(cli_env["PREFLAB_DATA_DIR"]).glob("celerybeat-schedule*"))
