"""Job bookkeeping: creation, cancel and retry requests (web side), and the state changes a running
task reports (worker side). No HTTP; the web-side functions flush, the worker-side ones run their own
short transactions so progress is visible while the job runs."""

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.db import session_scope, utcnow
from app.errors import Conflict, NotFound
from app.jobs.models import Job, JobStatus
from app.jobs.schemas import JobRead

QUEUES = ("default", "cpu", "gpu")
MAX_POINTS = 2000  # a curve longer than this keeps every other point


def create_job(
    session: Session,
    *,
    kind: str,
    params: dict[str, Any],
    queue: str = "default",
    campaign: Campaign | None = None,
    created_by: User | None = None,
) -> Job:
    if queue not in QUEUES:
        raise Conflict(f"unknown queue '{queue}'; use one of {', '.join(QUEUES)}")
    job = Job(
        kind=kind,
        queue=queue,
        params=params,
        campaign_id=campaign.id if campaign else None,
        created_by_id=created_by.id if created_by else None,
        status=JobStatus.queued,
        message="waiting for a worker",
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, *, public_id: str) -> Job:
    job = session.scalar(select(Job).where(Job.public_id == public_id))
    if job is None:
        raise NotFound(f"no job '{public_id}'")
    return job


def list_jobs(
    session: Session, *, campaign: Campaign | None = None, kind: str | None = None, limit: int = 100
) -> list[Job]:
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if campaign is not None:
        query = query.where(Job.campaign_id == campaign.id)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def request_cancel(session: Session, *, job: Job) -> Job:
    """A queued job is cancelled at once; a running one stops at its next progress report."""
    if job.status.finished:
        raise Conflict(f"job {job.public_id} already {job.status.value}; nothing to cancel")
    job.cancel_requested = True
    if job.status == JobStatus.queued:
        _mark_finished(job, JobStatus.cancelled, "cancelled before it started")
    else:
        job.message = "cancelling..."
    session.flush()
    return job


def prepare_retry(session: Session, *, job: Job) -> Job:
    """Puts a failed or cancelled job back in the queue, as it was first asked for."""
    if job.status not in (JobStatus.failed, JobStatus.cancelled):
        raise Conflict(
            f"job {job.public_id} is {job.status.value}; only failed or cancelled jobs are retried"
        )
    job.status = JobStatus.queued
    job.progress, job.message, job.error = 0.0, "waiting for a worker", ""
    job.points, job.result = [], {}
    job.cancel_requested = False
    job.started_at = job.finished_at = None
    session.flush()
    return job


def to_read(session: Session, job: Job) -> JobRead:
    read = JobRead.model_validate(job)
    if job.campaign_id is not None:
        campaign = session.get(Campaign, job.campaign_id)
        read.campaign = campaign.slug if campaign else None
    if job.started_at is not None:
        read.duration_s = ((job.finished_at or utcnow()) - job.started_at).total_seconds()
    return read


def _mark_finished(job: Job, status: JobStatus, message: str, now: datetime | None = None) -> None:
    job.status = status
    job.message = message
    job.finished_at = now or utcnow()


# --- worker side: each call is its own transaction ---------------------------------------------------


def start(job_id: str) -> dict[str, Any] | None:
    """Marks the job running and returns what the task needs; None when it must not run (finished,
    cancelled, or unknown), so a redelivered task is a no-op."""
    with session_scope() as session:
        job = session.scalar(select(Job).where(Job.public_id == job_id).with_for_update())
        if job is None or job.status.finished:
            return None
        job.status = JobStatus.running
        job.attempts += 1
        job.started_at = utcnow()
        job.message = "started" if job.attempts == 1 else f"started again (attempt {job.attempts})"
        job.points = []
        return {"id": job.id, "params": dict(job.params), "campaign_id": job.campaign_id}


def report(job_id: str, *, progress: float, message: str, point: dict[str, Any] | None = None) -> bool:
    """Stores progress (and one curve point); returns whether cancellation was asked for."""
    with session_scope() as session:
        job = session.scalar(select(Job).where(Job.public_id == job_id))
        if job is None:
            return True
        job.progress = max(0.0, min(1.0, progress))
        job.message = message
        if point is not None:
            points = [*job.points, point]
            job.points = points[::2] if len(points) > MAX_POINTS else points
        return job.cancel_requested


def cancel_requested(job_id: str) -> bool:
    with session_scope() as session:
        return bool(session.scalar(select(Job.cancel_requested).where(Job.public_id == job_id)))


def finish(
    job_id: str, *, status: JobStatus, message: str, result: dict[str, Any] | None = None, error: str = ""
) -> None:
    with session_scope() as session:
        values: dict[str, Any] = {
            "status": status,
            "message": message,
            "error": error,
            "finished_at": utcnow(),
        }
        if status == JobStatus.succeeded:
            values["progress"] = 1.0
        if result is not None:
            values["result"] = result
        session.execute(update(Job).where(Job.public_id == job_id).values(**values))


def set_task_id(session: Session, *, job: Job, task_id: str) -> None:
    job.celery_task_id = task_id
    session.flush()
