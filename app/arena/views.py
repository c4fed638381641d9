"""Arena pages: the battle page (type or draw a prompt, two anonymous answers streaming side by side,
vote, reveal), the public leaderboard, the admin page, and the form that creates an arena."""

import json
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.arena import flows, service
from app.arena.dependencies import ArenaDep, VoterDep, remember_voter
from app.arena.models import BattleStatus
from app.arena.schemas import ArenaConfig, ArenaCreate, SystemCreate, SystemUpdate
from app.arena.voters import list_voters, set_voter_status
from app.auth.models import Role
from app.deps import Admin, OptionalUser, SessionDep, ensure_role
from app.errors import Invalid
from app.leaderboard import service as leaderboard
from app.leaderboard.svg import heatmap_svg, interval_svg
from app.web import form_errors, redirect, render

router = APIRouter(include_in_schema=False)
OUTCOMES = (
    ("a", "A is better", "1"),
    ("b", "B is better", "2"),
    ("tie", "Tie", "3"),
    ("both_bad", "Both are bad", "4"),
)


def _battle_context(
    request: Request, ctx: ArenaDep, voter: VoterDep, battle: object | None
) -> dict[str, object]:
    return {
        "campaign": ctx.campaign,
        "config": ctx.config,
        "user": voter.user,
        "battle": battle,
        "outcomes": OUTCOMES,
        "vote_key": secrets.token_urlsafe(16),
        "BattleStatus": BattleStatus,
        "media_url": service.media_url,
    }


def _battle_response(request: Request, ctx: ArenaDep, voter: VoterDep, battle: object) -> Response:
    page = render(
        request,
        "arena/page.html",
        _battle_context(request, ctx, voter, battle),
        fragment="arena/_battle.html",
    )
    return remember_voter(page, voter)


@router.get("/arena/{slug}")
def arena_page(request: Request, ctx: ArenaDep, voter: VoterDep) -> Response:
    return remember_voter(
        render(request, "arena/page.html", _battle_context(request, ctx, voter, None)), voter
    )


@router.post("/arena/{slug}/battles")
def start_battle(
    request: Request,
    ctx: ArenaDep,
    session: SessionDep,
    voter: VoterDep,
    prompt: Annotated[str, Form(max_length=100_000)] = "",
    draw: Annotated[str, Form()] = "",
) -> Response:
    if not draw and not prompt.strip():
        raise Invalid("type a prompt, or ask for one", field="prompt")
    battle = flows.start_battle(
        session, campaign=ctx.campaign, arena=ctx.arena, voter=voter, prompt=None if draw else prompt
    )
    battle = service.get_battle(session, public_id=battle.public_id)
    return _battle_response(request, ctx, voter, battle)


@router.get("/arena/{slug}/battles/{battle_id}")
def battle_page(
    request: Request, ctx: ArenaDep, battle_id: str, session: SessionDep, voter: VoterDep
) -> Response:
    battle = service.battle_for_voter(
        session, public_id=battle_id, campaign=ctx.campaign, voter_key=voter.key
    )
    return _battle_response(request, ctx, voter, battle)


@router.post("/arena/{slug}/battles/{battle_id}/turns")
def add_turn(
    request: Request,
    ctx: ArenaDep,
    battle_id: str,
    session: SessionDep,
    voter: VoterDep,
    prompt: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    battle = service.battle_for_voter(
        session, public_id=battle_id, campaign=ctx.campaign, voter_key=voter.key
    )
    flows.add_turn(session, campaign=ctx.campaign, arena=ctx.arena, battle=battle, voter=voter, prompt=prompt)
    battle = service.get_battle(session, public_id=battle_id)
    return _battle_response(request, ctx, voter, battle)


@router.post("/arena/{slug}/battles/{battle_id}/vote")
def vote(
    request: Request,
    ctx: ArenaDep,
    battle_id: str,
    session: SessionDep,
    voter: VoterDep,
    winner: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if winner not in {value for value, _, _ in OUTCOMES}:
        raise Invalid("choose A, B, tie or both bad", field="winner")
    battle = service.battle_for_voter(
        session, public_id=battle_id, campaign=ctx.campaign, voter_key=voter.key
    )
    flows.vote(
        session,
        campaign=ctx.campaign,
        arena=ctx.arena,
        battle=battle,
        voter=voter,
        winner=winner,
        key=idempotency_key or None,
    )
    battle = service.get_battle(session, public_id=battle_id)
    return _battle_response(request, ctx, voter, battle)


@router.get("/arena/{slug}/leaderboard")
def leaderboard_page(
    request: Request,
    ctx: ArenaDep,
    session: SessionDep,
    user: OptionalUser,
    category: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    if not ctx.config.public_leaderboard:
        ensure_role(user, Role.annotator)
    snapshot = leaderboard.latest_snapshot(session, campaign_id=ctx.campaign.id, category=category)
    style = (
        leaderboard.latest_snapshot(session, campaign_id=ctx.campaign.id, category="style")
        if not category
        else None
    )
    data = leaderboard.snapshot_json(snapshot) if snapshot else None
    context = {
        "user": user,
        "campaign": ctx.campaign,
        "config": ctx.config,
        "category": category,
        "categories": [
            c for c in leaderboard.categories(session, campaign_id=ctx.campaign.id) if c not in ("", "style")
        ],
        "board": data,
        "style": leaderboard.snapshot_json(style) if style else None,
        "intervals": interval_svg(data["ratings"]) if data and data["ratings"] else None,
        "heatmap": heatmap_svg(data["win_rates"]["systems"], data["win_rates"]["matrix"]) if data else None,
    }
    return render(request, "arena/leaderboard.html", context)


@router.get("/arena/{slug}/admin")
def admin_page(request: Request, ctx: ArenaDep, session: SessionDep, user: Admin) -> Response:
    context = {
        "user": user,
        "campaign": ctx.campaign,
        "arena": ctx.arena,
        "config": ctx.config,
        "config_json": json.dumps(ctx.config.model_dump(mode="json"), indent=2),
        "systems": service.list_systems(session, campaign=ctx.campaign),
        "voters": list_voters(session, campaign_id=ctx.campaign.id),
    }
    return render(request, "arena/admin.html", context)


@router.post("/arena/{slug}/admin/systems")
def add_system(
    request: Request,
    ctx: ArenaDep,
    session: SessionDep,
    user: Admin,
    name: Annotated[str, Form()] = "",
    vendor: Annotated[str, Form()] = "",
    provider: Annotated[str, Form()] = "",
    weight: Annotated[float, Form()] = 1.0,
    targets: Annotated[str, Form()] = "",
) -> Response:
    try:
        provider_config = json.loads(provider or "{}")
    except json.JSONDecodeError as exc:
        raise Invalid(f"the provider is not valid JSON: {exc.msg}", field="provider") from exc
    try:
        data = SystemCreate.model_validate(
            {
                "name": name.strip(),
                "vendor": vendor.strip(),
                "provider": provider_config,
                "weight": weight,
                "targets": [t.strip() for t in targets.split(",") if t.strip()],
            }
        )
    except ValidationError as exc:
        raise form_errors(exc) from exc
    service.add_system(session, campaign=ctx.campaign, data=data)
    return redirect(request, f"/arena/{ctx.campaign.slug}/admin")


@router.post("/arena/{slug}/admin/systems/{name}")
def toggle_system(
    request: Request,
    ctx: ArenaDep,
    name: str,
    session: SessionDep,
    user: Admin,
    is_active: Annotated[bool, Form()] = False,
    weight: Annotated[float | None, Form()] = None,
) -> Response:
    system = service.get_system(session, campaign=ctx.campaign, name=name)
    try:
        data = SystemUpdate(is_active=is_active, weight=weight if weight is not None else system.weight)
    except ValidationError as exc:
        raise form_errors(exc) from exc
    service.update_system(session, system=system, data=data)
    return redirect(request, f"/arena/{ctx.campaign.slug}/admin")


@router.post("/arena/{slug}/admin/config")
def update_config(
    request: Request, ctx: ArenaDep, session: SessionDep, user: Admin, config: Annotated[str, Form()] = ""
) -> Response:
    try:
        changes = json.loads(config or "{}")
    except json.JSONDecodeError as exc:
        raise Invalid(f"the settings are not valid JSON: {exc.msg}", field="config") from exc
    if not isinstance(changes, dict):
        raise Invalid("the settings must be a JSON object", field="config")
    try:
        service.update_config(session, arena=ctx.arena, changes=changes)
    except ValidationError as exc:
        raise form_errors(exc) from exc
    return redirect(request, f"/arena/{ctx.campaign.slug}/admin")


@router.post("/arena/{slug}/admin/voters/{voter_key}/{action}")
def decide_voter(
    request: Request, ctx: ArenaDep, voter_key: str, action: str, session: SessionDep, user: Admin
) -> Response:
    set_voter_status(session, campaign_id=ctx.campaign.id, voter_key=voter_key, action=action)
    return redirect(request, f"/arena/{ctx.campaign.slug}/admin")


@router.post("/arena/{slug}/admin/refresh")
def refresh(request: Request, ctx: ArenaDep, user: Admin) -> Response:
    flows.request_refresh(campaign_id=ctx.campaign.id)
    return redirect(request, f"/arena/{ctx.campaign.slug}/leaderboard")


@router.get("/arenas/new")
def new_arena_page(request: Request, user: Admin) -> Response:
    defaults = json.dumps(ArenaConfig().model_dump(mode="json"), indent=2)
    return render(request, "arena/new.html", {"user": user, "config_json": defaults, "form": {}})


@router.post("/arenas/new")
def create_arena(
    request: Request,
    session: SessionDep,
    user: Admin,
    slug: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    guidelines: Annotated[str, Form()] = "",
    config: Annotated[str, Form()] = "{}",
    systems: Annotated[str, Form()] = "",
) -> Response:
    try:
        config_data = json.loads(config or "{}")
        system_rows = [json.loads(line) for line in systems.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise Invalid(f"not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    try:
        data = ArenaCreate.model_validate(
            {
                "slug": slug.strip(),
                "name": name.strip(),
                "guidelines": guidelines,
                "config": config_data,
                "systems": system_rows,
            }
        )
    except ValidationError as exc:
        raise form_errors(exc) from exc
    campaign = service.create_arena(session, data=data, created_by=user)
    return redirect(request, f"/arena/{campaign.slug}/admin")
