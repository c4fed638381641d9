"""HTML pages for jobs: the list with live progress bars, one job with its curve, cancel and retry.

Researcher pages take the `Researcher` dependency: an anonymous browser is sent to log in (app.main
maps the 401 to a login redirect for pages), an annotator gets a 403 page.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.deps import Researcher, SessionDep
from app.jobs import curve, flows, service
from app.web import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/jobs")
def job_list(request: Request, session: SessionDep, user: Researcher) -> Response:
    jobs = [service.to_read(session, j) for j in service.list_jobs(session, limit=200)]
    live = any(not j.status.finished for j in jobs)
    return render(
        request, "jobs/list.html", {"user": user, "jobs": jobs, "live": live}, fragment="jobs/_rows.html"
    )


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, session: SessionDep, user: Researcher) -> Response:
    job = service.to_read(session, service.get_job(session, public_id=job_id))
    context = {"user": user, "job": job, "series": curve.series(job.points), "svg": curve}
    return render(request, "jobs/detail.html", context, fragment="jobs/_detail.html")


@router.post("/jobs/{job_id}/cancel")
def cancel(request: Request, job_id: str, session: SessionDep, user: Researcher) -> Response:
    flows.cancel_job(session, job=service.get_job(session, public_id=job_id))
    return redirect(request, f"/jobs/{job_id}")


@router.post("/jobs/{job_id}/retry")
def retry(request: Request, job_id: str, session: SessionDep, user: Researcher) -> Response:
    flows.retry_job(session, job=service.get_job(session, public_id=job_id))
    return redirect(request, f"/jobs/{job_id}")
