"""Dataset releases API: make one (201, or 200 with the existing one for the same request on the
same votes), list them, read one, download its files, push it to the Hugging Face Hub."""

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.dependencies import CampaignDep
from app.config import get_settings
from app.deps import Researcher, SessionDep
from app.releases import service
from app.releases.models import Release
from app.releases.schemas import HubPush, ReleaseCreate, ReleaseFile, ReleaseRead

router = APIRouter(prefix="/api/v1", tags=["releases"])


def release_read(session: Session, release: Release) -> ReleaseRead:
    campaign = service.release_campaign(session, release=release)
    creator = session.get(User, release.created_by_id) if release.created_by_id else None
    return ReleaseRead(
        id=release.public_id,
        campaign=campaign.slug,
        version=release.version,
        formats=list(release.formats),
        filters=dict(release.filters),
        vote_count=release.vote_count,
        max_vote_id=release.max_vote_id,
        content_hash=release.content_hash,
        files=[
            ReleaseFile(**f, url=f"/api/v1/releases/{release.public_id}/files/{f['name']}")
            for f in release.files
        ],
        created_at=release.created_at,
        created_by=creator.email if creator else None,
        hub_repo=release.hub_repo,
        hub_revision=release.hub_revision,
        hub_pushed_at=release.hub_pushed_at,
    )


@router.post(
    "/campaigns/{slug}/releases",
    status_code=201,
    responses={
        200: {"description": "the same request on the same votes was released before: that release"},
        422: {
            "description": "an unknown format, one the campaign's task kind has no data for, or bad filters"
        },
    },
)
def create_release(
    data: ReleaseCreate, campaign: CampaignDep, session: SessionDep, user: Researcher, response: Response
) -> ReleaseRead:
    release, created = service.create_release(session, campaign=campaign, data=data, user=user)
    if not created:
        response.status_code = 200
    return release_read(session, release)


@router.get("/campaigns/{slug}/releases")
def list_releases(campaign: CampaignDep, session: SessionDep, user: Researcher) -> list[ReleaseRead]:
    return [release_read(session, r) for r in service.list_releases(session, campaign=campaign)]


@router.get("/releases/{release_id}")
def read_release(release_id: str, session: SessionDep, user: Researcher) -> ReleaseRead:
    return release_read(session, service.get_release(session, public_id=release_id))


@router.get("/releases/{release_id}/files/{name}", response_class=FileResponse)
def download_file(release_id: str, name: str, session: SessionDep, user: Researcher) -> FileResponse:
    release = service.get_release(session, public_id=release_id)
    path = service.file_path(session, release=release, name=name)
    campaign = service.release_campaign(session, release=release)
    return FileResponse(
        path,
        media_type=service.media_type(name),
        filename=f"{campaign.slug}-v{release.version}-{name}",
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


@router.post(
    "/releases/{release_id}/push",
    responses={409: {"description": "no Hub token is configured (PREFLAB_HF_TOKEN)"}},
)
def push_release(release_id: str, data: HubPush, session: SessionDep, user: Researcher) -> ReleaseRead:
    settings = get_settings()
    release = service.push_to_hub(
        session,
        release=service.get_release(session, public_id=release_id),
        repo_id=data.repo_id,
        private=data.private,
        token=settings.hf_token,
        endpoint=settings.hf_endpoint,
    )
    return release_read(session, release)
