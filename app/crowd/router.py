"""JSON API for a campaign's crowd study and its participants (researchers)."""

from fastapi import APIRouter, Request

from app.campaigns import service as campaigns_service
from app.crowd import service
from app.crowd.models import CrowdStudy
from app.crowd.schemas import CrowdParticipantRead, CrowdStudyConfig, CrowdStudyRead
from app.deps import Researcher, SessionDep
from app.errors import NotFound

router = APIRouter(prefix="/api/v1/campaigns/{slug}/crowd", tags=["crowd"])


def study_read(request: Request, study: CrowdStudy, *, slug: str) -> CrowdStudyRead:
    config = CrowdStudyConfig.model_validate(study, from_attributes=True)
    return CrowdStudyRead(
        **config.model_dump(),
        campaign=slug,
        entry_url=service.entry_template(study, base_url=str(request.base_url), slug=slug),
    )


@router.get("", response_model=CrowdStudyRead)
def get_study(slug: str, request: Request, session: SessionDep, user: Researcher) -> CrowdStudyRead:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    study = service.get_study(session, campaign=campaign)
    if study is None:
        raise NotFound(f"campaign '{slug}' has no crowd study; PUT one first")
    return study_read(request, study, slug=slug)


@router.put("", response_model=CrowdStudyRead)
def save_study(
    slug: str, data: CrowdStudyConfig, request: Request, session: SessionDep, user: Researcher
) -> CrowdStudyRead:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    remote = request.client.host if request.client else None
    study = service.save_study(session, actor=user, campaign=campaign, config=data, remote_addr=remote)
    return study_read(request, study, slug=slug)


@router.get("/participants", response_model=list[CrowdParticipantRead])
def participants(slug: str, session: SessionDep, user: Researcher) -> list[CrowdParticipantRead]:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    return service.list_participants(session, campaign=campaign)
