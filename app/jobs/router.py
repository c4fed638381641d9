"""JSON API for jobs: list, read, cancel, retry. Jobs are started by the domain that owns the work."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.campaigns import service as campaigns_service
from app.deps import Researcher, SessionDep
from app.jobs import flows, service
from app.jobs.schemas import JobRead

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("", response_model=list[JobRead])
def list_jobs(
    session: SessionDep,
    user: Researcher,
    campaign: Annotated[str | None, Query(description="campaign slug")] = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[JobRead]:
    scope = campaigns_service.get_campaign(session, slug=campaign) if campaign else None
    return [
        service.to_read(session, j)
        for j in service.list_jobs(session, campaign=scope, kind=kind, limit=limit)
    ]


@router.get("/{job_id}", response_model=JobRead)
def read_job(job_id: str, session: SessionDep, user: Researcher) -> JobRead:
    return service.to_read(session, service.get_job(session, public_id=job_id))


@router.post("/{job_id}/cancel", response_model=JobRead)
def cancel_job(job_id: str, session: SessionDep, user: Researcher) -> JobRead:
    job = flows.cancel_job(session, job=service.get_job(session, public_id=job_id))
    return service.to_read(session, job)


@router.post("/{job_id}/retry", response_model=JobRead)
def retry_job(job_id: str, session: SessionDep, user: Researcher) -> JobRead:
    job = flows.retry_job(session, job=service.get_job(session, public_id=job_id))
    return service.to_read(session, job)
