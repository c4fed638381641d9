"""Fitting a campaign's router on its calibration slice and routing its judged pairs, in one transaction
(a rerun fits and routes again from the same labels)."""

from typing import Any

from app.db import session_scope
from app.errors import DomainError
from app.routing import service
from app.routing.models import RoutingPlan
from workers.celery_app import celery_app
from workers.job_runner import JobContext, JobFailed, run_job


@celery_app.task(name="preflab.routing.fit")
def fit(job_id: str) -> dict[str, Any]:
    return run_job(job_id, _fit)


def _fit(ctx: JobContext) -> tuple[dict[str, Any], str]:
    plan_id = int(ctx.params["plan"])
    with session_scope() as session:
        service.begin_fit(session, plan=session.get_one(RoutingPlan, plan_id))
    try:
        with session_scope() as session:
            result = service.fit_and_route(session, plan=session.get_one(RoutingPlan, plan_id))
    except BaseException as exc:
        with session_scope() as session:
            service.end_failed_fit(session, plan=session.get_one(RoutingPlan, plan_id))
        if isinstance(exc, DomainError):  # labels missing since the request checked them
            raise JobFailed(exc.message) from exc
        raise
    message = (
        f"fitted on {result['calibration']} calibration pairs; {result['to_human']} pairs to people, "
        f"{result['to_judge']} to the judge"
    )
    return result, message
