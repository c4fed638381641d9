"""A real Celery worker, on real Redis, reclaims expired leases in the real database."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.items.models import Comparison
from app.voting import service
from app.voting.models import Assignment, AssignmentStatus
from tests.factories import make_user, seed_campaign

pytestmark = pytest.mark.worker


def test_worker_reclaims_expired_leases(session: Session, worker: dict[str, str]) -> None:
    campaign = seed_campaign(session, n_items=2, overlap=1)
    user = make_user(session, "w@example.org")
    session.commit()
    task = service.next_assignment(session, campaign=campaign, annotator=user)
    assert task is not None
    session.execute(update(Assignment).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()

    from app.config import Settings
    from workers.celery_app import make_celery

    client = make_celery(Settings(redis_url=worker["PREFLAB_REDIS_URL"]))
    assert not client.conf.task_always_eager
    result = client.send_task("preflab.maintenance.reclaim_expired_leases")
    assert result.get(timeout=60) == 1
    session.expire_all()
    assert session.scalar(select(Assignment.status)) == AssignmentStatus.expired
    assert sorted(session.scalars(select(Comparison.open_slots))) == [1, 1]
