"""Job work that spans the database and the queue: a job is sent only after the commit that made it,
so a worker never looks for a row that is not there yet."""

import logging
from typing import Any

from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.errors import Unavailable
from app.jobs import dispatch, service
from app.jobs.models import Job, JobStatus

log = logging.getLogger("preflab.jobs")


def submit_job(
    session: Session,
    *,
    kind: str,
    params: dict[str, Any],
    queue: str = "default",
    campaign: Campaign | None = None,
    created_by: User | None = None,
) -> Job:
    job = service.create_job(
        session, kind=kind, params=params, queue=queue, campaign=campaign, created_by=created_by
    )
    session.commit()
    _send(session, job)
    return job


def retry_job(session: Session, *, job: Job) -> Job:
    service.prepare_retry(session, job=job)
    session.commit()
    _send(session, job)
    return job


def cancel_job(session: Session, *, job: Job) -> Job:
    was_queued = job.status == JobStatus.queued
    service.request_cancel(session, job=job)
    session.commit()
    if was_queued and job.celery_task_id:
        dispatch.revoke(job.celery_task_id)
    return job


def _send(session: Session, job: Job) -> None:
    try:
        task_id = dispatch.dispatch(job_id=job.public_id, kind=job.kind, queue=job.queue)
    except Exception as exc:
        log.error("could not queue job %s: %s", job.public_id, exc)
        job.status = JobStatus.failed
        job.error = f"the task queue did not accept the job: {exc}"
        job.message = "not queued"
        session.commit()
        raise Unavailable("the task queue (Redis) is not answering; the job was not started") from exc
    service.set_task_id(session, job=job, task_id=task_id)
