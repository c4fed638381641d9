"""Starting the reward-data prioritising job (commit, then queue), shared by the API, the pages and the
scoring job that refreshes the active reward model's scores."""

from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.errors import Conflict
from app.jobs import flows
from app.jobs.models import Job
from app.selection.config import prioritises_reward_data, selection_config

PRIORITISE_TASK = "preflab.selection.prioritise"


def start_prioritising(session: Session, *, campaign: Campaign, user: User | None) -> Job:
    if not prioritises_reward_data(selection_config(campaign)):
        raise Conflict(
            "this campaign does not select reward-model data: set selection strategy 'active' with "
            "target 'reward_data' first"
        )
    return flows.submit_job(
        session, kind=PRIORITISE_TASK, params={}, queue="cpu", campaign=campaign, created_by=user
    )
