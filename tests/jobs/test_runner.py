"""Job bookkeeping as a task sees it: start, progress with curve points, cancel, failure, rerun."""

import pytest
from sqlalchemy.orm import Session

from app.db import session_scope
from app.errors import Conflict
from app.jobs import service
from app.jobs.models import JobStatus
from tests.factories import make_user, seed_campaign
from workers.job_runner import JobContext, JobFailed, run_job


def _job(session: Session, kind: str = "test.kind") -> str:
    campaign = seed_campaign(session, n_items=1)
    user = make_user(session, "res@example.org")
    job = service.create_job(session, kind=kind, params={"x": 1}, campaign=campaign, created_by=user)
    session.commit()
    return job.public_id


def _reload(session: Session, job_id: str):
    session.expire_all()
    job = service.get_job(session, public_id=job_id)
    session.commit()  # SQLite: every transaction holds the write lock; the task needs it next
    return job


def test_a_job_runs_reports_progress_and_stores_its_result(session: Session) -> None:
    job_id = _job(session)
    seen: list[dict] = []

    def body(ctx: JobContext) -> tuple[dict, str]:
        seen.append(dict(ctx.params))
        for step in range(3):
            ctx.progress((step + 1) / 3, f"step {step}", {"step": step, "loss": 1.0 / (step + 1)})
        return {"answer": 42}, "all done"

    assert run_job(job_id, body) == {"answer": 42}
    job = _reload(session, job_id)
    assert seen == [{"x": 1}]
    assert job.status == JobStatus.succeeded and job.progress == 1.0 and job.message == "all done"
    assert [p["step"] for p in job.points] == [0, 1, 2] and job.result == {"answer": 42}
    assert job.attempts == 1 and job.started_at is not None and job.finished_at >= job.started_at
    # A redelivered task finds the job finished and does nothing.
    assert run_job(job_id, body) == {"skipped": True} and len(seen) == 1


def test_a_failure_is_recorded_with_its_message_and_a_crash_with_its_exception(session: Session) -> None:
    job_id = _job(session)

    def refuses(ctx: JobContext) -> tuple[dict, str]:
        raise JobFailed("the campaign has 2 preference votes; at least 10 are needed")

    run_job(job_id, refuses)
    job = _reload(session, job_id)
    assert job.status == JobStatus.failed and "at least 10" in job.error

    service.prepare_retry(session, job=job)
    session.commit()

    def crashes(ctx: JobContext) -> tuple[dict, str]:
        raise ZeroDivisionError("division by zero")

    run_job(job_id, crashes)
    job = _reload(session, job_id)
    assert job.status == JobStatus.failed and "ZeroDivisionError" in job.error and job.attempts == 2


def test_cancelling_a_running_job_stops_it_at_its_next_report(session: Session) -> None:
    job_id = _job(session)
    steps: list[int] = []

    def body(ctx: JobContext) -> tuple[dict, str]:
        for step in range(100):
            if step == 3:
                with session_scope() as other:
                    service.request_cancel(other, job=service.get_job(other, public_id=job_id))
            steps.append(step)
            ctx.progress(step / 100, f"step {step}", {"step": step})
        return {}, "finished anyway"

    assert run_job(job_id, body) == {"cancelled": True}
    job = _reload(session, job_id)
    assert job.status == JobStatus.cancelled and steps == [0, 1, 2, 3]


def test_cancel_and_retry_follow_the_job_state(session: Session) -> None:
    job_id = _job(session)
    job = service.request_cancel(session, job=_reload(session, job_id))
    assert job.status == JobStatus.cancelled and job.finished_at is not None
    with pytest.raises(Conflict, match="already cancelled"):
        service.request_cancel(session, job=job)
    job = service.prepare_retry(session, job=job)
    assert job.status == JobStatus.queued and not job.cancel_requested and job.points == []
    with pytest.raises(Conflict, match="only failed or cancelled"):
        service.prepare_retry(session, job=job)
