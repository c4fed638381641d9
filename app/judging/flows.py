"""Starting a judge's run (commit, then queue), shared by the API and the page."""

from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.jobs import flows
from app.jobs.models import Job
from app.judging import service
from app.judging.models import LMJudge
from app.judging.schemas import JUDGE_TASK, RunRequest


def start_run(session: Session, *, judge: LMJudge, request: RunRequest, user: User | None) -> Job:
    params = service.run_params(session, judge=judge, request=request)
    return flows.submit_job(
        session,
        kind=JUDGE_TASK,
        params=params,
        queue=service.queue_for(service.provider_config(judge)),
        campaign=session.get_one(Campaign, judge.campaign_id),
        created_by=user,
    )
