"""JSON API for live routing: a campaign's plan, its fit, and the agreement dashboard. Researchers only."""

from fastapi import APIRouter, status

from app.campaigns.dependencies import CampaignDep
from app.deps import Researcher, SessionDep
from app.jobs import service as jobs_service
from app.jobs.schemas import JobRead
from app.routing import flows, service
from app.routing.schemas import PlanCreate, RoutingRead

router = APIRouter(prefix="/api/v1", tags=["routing"])


@router.post("/campaigns/{slug}/routing", response_model=RoutingRead)
def save_plan(data: PlanCreate, campaign: CampaignDep, session: SessionDep, user: Researcher) -> RoutingRead:
    """Creates or changes the campaign's plan and draws its calibration slice at random among its pairs
    (the slice stays open for people); a new size grows or shrinks the slice, a new judge undoes the
    old one's routing."""
    plan = service.save_plan(session, campaign=campaign, data=data, user=user)
    return service.dashboard(session, plan=plan)


@router.get("/campaigns/{slug}/routing", response_model=RoutingRead)
def read_routing(campaign: CampaignDep, session: SessionDep, user: Researcher) -> RoutingRead:
    """The plan, judge-vs-human agreement, coverage, the human budget spent and the fitted router."""
    return service.dashboard(session, plan=service.get_plan(session, campaign=campaign))


@router.post("/campaigns/{slug}/routing/fit", status_code=status.HTTP_202_ACCEPTED, response_model=JobRead)
def fit(campaign: CampaignDep, session: SessionDep, user: Researcher) -> JobRead:
    """A job that fits the router on the slice (at least 10 pairs with the judge's label and a human
    vote) and routes every judged pair outside it; a refit routes again, reopening pairs that go back
    to people."""
    plan = service.get_plan(session, campaign=campaign)
    job = flows.start_fit(session, plan=plan, user=user)
    return jobs_service.to_read(session, job)
