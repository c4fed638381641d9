"""Starting a plan's fit (checked, committed, then queued), shared by the API and the page."""

from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.jobs import flows
from app.jobs.models import Job
from app.routing import service
from app.routing.models import RoutingPlan
from app.routing.schemas import FIT_TASK


def start_fit(session: Session, *, plan: RoutingPlan, user: User | None) -> Job:
    service.check_fit(session, plan=plan)
    job = flows.submit_job(
        session,
        kind=FIT_TASK,
        params={"plan": plan.id},
        queue="cpu",
        campaign=session.get_one(Campaign, plan.campaign_id),
        created_by=user,
    )
    # Set after the job's commit (a job run on a thread may already have begun); the request commits it.
    plan.fit_job_id = job.id
    return job
