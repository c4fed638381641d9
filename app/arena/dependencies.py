"""Loading an arena and knowing who battles in it: a signed-in user, or, where the arena allows it, an
anonymous visitor known by a signed cookie."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from app.arena import service
from app.arena.flows import Voter
from app.arena.models import Arena
from app.arena.schemas import ArenaConfig
from app.auth.models import Role
from app.campaigns.models import Campaign
from app.config import get_settings
from app.deps import IdentityDep, SessionDep, check_csrf, ensure_role, resolve_user
from app.errors import NotAuthenticated

ANON_COOKIE = "preflab_arena_voter"


@dataclass
class ArenaContext:
    campaign: Campaign
    arena: Arena
    config: ArenaConfig


def valid_arena(slug: str, session: SessionDep) -> ArenaContext:
    campaign, arena = service.get_arena(session, slug=slug)
    return ArenaContext(campaign, arena, service.arena_config(arena))


ArenaDep = Annotated[ArenaContext, Depends(valid_arena)]


async def current_voter(
    request: Request, response: Response, ctx: ArenaDep, session: SessionDep, identity: IdentityDep
) -> Voter:
    from app.arena.anonymous import issue_voter, read_voter
    from app.arena.limits import client_ip

    settings = get_settings()
    ip = client_ip(request, settings.trusted_proxies)
    user = resolve_user(session, identity)
    if user is not None:
        ensure_role(user, Role.annotator)
        return Voter(key=f"user:{user.id}", user=user, ip=ip)
    if not ctx.config.allow_anonymous:
        raise NotAuthenticated("log in to battle in this arena")
    # Anonymous visitors have no account, but their forms still carry the session's CSRF token.
    await check_csrf(request)
    cookie_name = f"{ANON_COOKIE}_{ctx.campaign.slug}"
    voter_id = read_voter(request.cookies.get(cookie_name), campaign=ctx.campaign.slug)
    cookie = None
    if voter_id is None:
        voter_id, value = issue_voter(campaign=ctx.campaign.slug)
        cookie = (cookie_name, value)
    voter = Voter(key=f"anon:{voter_id}", user=None, ip=ip, cookie=cookie)
    # Routes that return a model get the cookie through the injected response; pages that build their
    # own response call `remember_voter`.
    remember_voter(response, voter)
    return voter


def remember_voter(response: Response, voter: Voter) -> Response:
    """Sets a new anonymous voter's cookie on `response` (nothing for known voters)."""
    if voter.cookie is not None:
        name, value = voter.cookie
        response.set_cookie(
            name,
            value,
            max_age=get_settings().arena_anonymous_max_age_s,
            httponly=True,
            samesite="lax",
            secure=get_settings().secure_cookies,
            path="/",
        )
    return response


VoterDep = Annotated[Voter, Depends(current_voter)]
