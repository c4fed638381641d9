"""HTML pages for jobs: the list with live progress bars, one job with its curve, cancel and retry."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.auth.models import Role
from app.deps import OptionalUser, SessionDep, ensure_role
from app.jobs import curve, flows, service
from app.web import login_redirect, redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/jobs")
def job_list(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    ensure_role(user, Role.researcher)
    jobs = [service.to_read(session, j) for j in service.list_jobs(session, limit=200)]
    live = any(not j.status.finished for j in jobs)
    return render(
        request, "jobs/list.html", {"user": user, "jobs": jobs, "live": live}, fragment="jobs/_rows.html"
    )


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    ensure_role(user, Role.researcher)
    job = service.to_read(session, service.get_job(session, public_id=job_id))
    context = {"user": user, "job": job, "series": curve.series(job.points), "svg": curve}
    return render(request, "jobs/detail.html", context, fragment="jobs/_detail.html")


@router.post("/jobs/{job_id}/cancel")
def cancel(request: Request, job_id: str, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    ensure_role(user, Role.researcher)
    flows.cancel_job(session, job=service.get_job(session, public_id=job_id))
    return redirect(request, f"/jobs/{job_id}")


@router.post("/jobs/{job_id}/retry")
def retry(request: Request, job_id: str, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    ensure_role(user, Role.researcher)
    flows.retry_job(session, job=service.get_job(session, public_id=job_id))
    return redirect(request, f"/jobs/{job_id}")
