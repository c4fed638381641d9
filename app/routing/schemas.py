"""API shapes for live routing: a campaign's plan, its fitted router, and the agreement dashboard."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.jobs.schemas import JobRead
from app.routing.models import PlanStatus

FIT_TASK = "preflab.routing.fit"  # workers/tasks/routing.py
MIN_CALIBRATION = 10


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    judge: str = Field(min_length=1, max_length=20, description="the id of one of the campaign's judges")
    human_budget: float = Field(
        0.25, ge=0, le=1, description="share of the routed (judged, non-calibration) pairs kept for people"
    )
    alpha: float = Field(
        0.1, gt=0, lt=1, description="the accepted judge labels must agree with people at least 1 - alpha"
    )
    calibration_size: int = Field(
        40, ge=MIN_CALIBRATION, le=100_000, description="pairs labelled by both people and the judge"
    )


class FittedRouter(BaseModel):
    """The router as stored on the plan: weights, and the encoder's columns and scales to re-apply it."""

    numeric: list[str]
    tags: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]  # intercept first
    threshold: float | None = Field(description="on P(agree); null when no set of the slice meets 1 - alpha")
    alpha: float
    calibration_size: int = Field(description="calibration pairs with both labels it was fitted on")
    calibration_agreement: float
    accepted_share: float
    accepted_agreement: float | None
    human_share_for_alpha: float = Field(description="share of the routed pairs under the threshold")
    fitted_at: datetime


class Agreement(BaseModel):
    pairs: int = Field(description="pairs with both a judge label and a human one")
    agreed: int
    rate: float | None


class SwapConsistency(BaseModel):
    judged: int
    consistent: int = Field(description="both orders named the same side")
    rate: float | None


class Coverage(BaseModel):
    pairs: int
    judged: int = Field(description="pairs with the plan's judge's label (any route)")
    calibration: int
    human: int = Field(description="routed to people")
    judge: int = Field(description="routed to the judge")
    not_routed: int = Field(description="judged outside the slice since the last fit")
    not_judged: int


class Budget(BaseModel):
    share: float = Field(description="the plan's human budget, a share of the routed pairs")
    pairs: int = Field(description="calibration + routed-to-people pairs")
    votes_planned: int = Field(description="campaign overlap times those pairs")
    votes_cast: int = Field(description="human votes cast on them")
    spent: float | None


class RouterRead(BaseModel):
    threshold: float | None
    alpha: float
    calibration_size: int
    calibration_agreement: float
    accepted_share: float
    accepted_agreement: float | None
    meets_bound: bool = Field(description="accepted agreement >= 1 - alpha on the slice")
    human_share_for_alpha: float
    below_threshold: int = Field(description="judge-routed pairs the threshold does not vouch for")
    coefficients: dict[str, float]
    fitted_at: datetime


class PlanRead(BaseModel):
    campaign: str
    judge: str
    judge_name: str
    human_budget: float
    alpha: float
    calibration_size: int
    status: PlanStatus
    stale: bool = Field(description="the settings changed since the last fit; fit again to apply them")
    fit_job: JobRead | None
    created_at: datetime
    updated_at: datetime


class RoutingRead(BaseModel):
    plan: PlanRead
    agreement_calibration: Agreement
    agreement_all: Agreement
    coverage: Coverage
    budget: Budget
    swap_consistency: SwapConsistency
    router: RouterRead | None
