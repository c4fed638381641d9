"""JSON API for quality control: a campaign's settings, its annotators' standing, resuming one."""

from fastapi import APIRouter

from app.campaigns.dependencies import CampaignDep
from app.deps import Admin, Researcher, SessionDep
from app.qc import service
from app.qc.schemas import AnnotatorRead, QualityConfig, QualitySummary

router = APIRouter(prefix="/api/v1/campaigns/{slug}", tags=["quality control"])


@router.get("/quality-control", response_model=QualitySummary)
def read_settings(campaign: CampaignDep, session: SessionDep, user: Researcher) -> QualitySummary:
    return service.summary(session, campaign=campaign)


@router.put("/quality-control", response_model=QualitySummary)
def write_settings(
    data: QualityConfig, campaign: CampaignDep, session: SessionDep, user: Researcher
) -> QualitySummary:
    """Replaces the settings; every field left out takes its default (all defaults: no quality control)."""
    return service.set_config(session, campaign=campaign, config=data, by=user)


@router.get("/annotators", response_model=list[AnnotatorRead])
def list_annotators(campaign: CampaignDep, session: SessionDep, user: Researcher) -> list[AnnotatorRead]:
    return service.list_annotators(session, campaign=campaign)


@router.post("/annotators/{pseudonym}/resume", response_model=AnnotatorRead)
def resume(pseudonym: str, campaign: CampaignDep, session: SessionDep, user: Admin) -> AnnotatorRead:
    service.resume(session, campaign=campaign, pseudonym=pseudonym, by=user)
    return next(
        row for row in service.list_annotators(session, campaign=campaign) if row.pseudonym == pseudonym
    )
