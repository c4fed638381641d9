"""JSON API for invite links (admins: any role; researchers: annotator invites)."""

from fastapi import APIRouter, Request, status

from app.deps import Researcher, SessionDep
from app.invites import service
from app.invites.schemas import InviteCreate, InviteCreated, InviteRead

router = APIRouter(prefix="/api/v1/invites", tags=["invites"])


def invite_link(request: Request, token: str) -> str:
    return str(request.base_url).rstrip("/") + f"/invite/{token}"


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=InviteCreated)
def create_invite(
    data: InviteCreate, request: Request, session: SessionDep, user: Researcher
) -> InviteCreated:
    invite, token = service.create_invite(session, actor=user, data=data, remote_addr=client_address(request))
    read = service.invite_read(invite, campaign_slug=data.campaign, created_by=user.email)
    return InviteCreated(**read.model_dump(), token=token, link=invite_link(request, token))


@router.get("", response_model=list[InviteRead])
def list_invites(session: SessionDep, user: Researcher) -> list[InviteRead]:
    return service.list_invites(session, actor=user)


@router.post("/{invite_id}/revoke", response_model=InviteRead)
def revoke_invite(invite_id: int, request: Request, session: SessionDep, user: Researcher) -> InviteRead:
    invite = service.revoke_invite(
        session, actor=user, invite_id=invite_id, remote_addr=client_address(request)
    )
    campaign = service.invite_campaign(session, invite=invite)
    return service.invite_read(invite, campaign_slug=campaign.slug if campaign else None, created_by=None)
