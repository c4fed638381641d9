"""JSON API for a campaign's quality report: agreement, reliability, biases, gold, and the verdict.
Researchers only."""

from fastapi import APIRouter

from app.campaigns.dependencies import CampaignDep
from app.deps import Researcher, SessionDep
from app.quality import service
from app.quality.schemas import QualityReport

router = APIRouter(prefix="/api/v1", tags=["quality"])


@router.get("/campaigns/{slug}/quality", response_model=QualityReport)
def campaign_quality(campaign: CampaignDep, session: SessionDep, user: Researcher) -> QualityReport:
    """Every quality number over the people's votes (LM judges under `judges`), annotators by pseudonym."""
    return QualityReport.model_validate(service.campaign_quality(session, campaign=campaign))
