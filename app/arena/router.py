"""JSON API for arenas: admins set them up; voters battle and vote; anyone the arena allows reads the
leaderboard; researchers export battles."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from app.arena import flows, service
from app.arena.dependencies import ArenaDep, VoterDep
from app.arena.exports import battle_rows, jsonl_lines
from app.arena.models import Battle, BattleAnswer, BattleStatus
from app.arena.schemas import (
    AnswerMedia,
    AnswerRead,
    ArenaCreate,
    ArenaRead,
    BattleCreate,
    BattleRead,
    SystemCreate,
    SystemRead,
    SystemUpdate,
    TurnCreate,
    VoteCreate,
    VoterRead,
)
from app.arena.stream import battle_events
from app.arena.voters import list_voters, set_voter_status
from app.auth.models import Role
from app.config import get_settings
from app.deps import Admin, OptionalUser, Researcher, SessionDep, ensure_role
from app.errors import ImportRejected, Invalid, NotFound
from app.leaderboard import service as leaderboard
from app.leaderboard.tables import to_csv
from app.media.router import file_response

router = APIRouter(prefix="/api/v1/arenas", tags=["arenas"])


def arena_read(ctx_campaign, arena, systems) -> ArenaRead:  # type: ignore[no-untyped-def]
    return ArenaRead(
        slug=ctx_campaign.slug,
        name=ctx_campaign.name,
        status=ctx_campaign.status.value,
        config=service.arena_config(arena),
        systems=[SystemRead.model_validate(s) for s in systems],
        vote_count=arena.vote_count,
    )


def _answer_media(battle: Battle, answer: BattleAnswer, *, slug: str) -> AnswerMedia | None:
    url = service.media_url(battle, answer, slug=slug)
    return AnswerMedia(url=url, mime=answer.media.mime) if url and answer.media else None


def battle_read(battle: Battle, *, slug: str, max_turns: int) -> BattleRead:
    revealed = battle.winner is not None
    return BattleRead(
        id=battle.public_id,
        status=battle.status,
        turns=battle.turns,
        max_turns=max_turns,
        answers=[
            AnswerRead(
                turn=a.turn,
                side=a.side,
                prompt=a.prompt,
                content=a.content,
                status=a.status,
                error=a.error,
                media=_answer_media(battle, a, slug=slug),
            )
            for a in battle.answers
        ],
        error=battle.error,
        warnings=[f.split(":", 1)[1] for f in battle.flags if f.startswith("moderation:")],
        winner=battle.winner.value if battle.winner else None,
        model_a=battle.system_a.name if revealed else None,
        model_b=battle.system_b.name if revealed else None,
        stream_url=f"/api/v1/arenas/{slug}/battles/{battle.public_id}/events",
        created_at=battle.created_at,
    )


@router.post("", status_code=201)
def create_arena(data: ArenaCreate, session: SessionDep, user: Admin) -> ArenaRead:
    campaign = service.create_arena(session, data=data, created_by=user)
    _, arena = service.get_arena(session, slug=campaign.slug)
    return arena_read(campaign, arena, service.list_systems(session, campaign=campaign))


@router.get("/{slug}")
def read_arena(ctx: ArenaDep, session: SessionDep, user: Researcher) -> ArenaRead:
    return arena_read(ctx.campaign, ctx.arena, service.list_systems(session, campaign=ctx.campaign))


@router.patch("/{slug}/config")
def update_config(ctx: ArenaDep, changes: dict[str, object], session: SessionDep, user: Admin) -> ArenaRead:
    service.update_config(session, arena=ctx.arena, changes=changes)
    return arena_read(ctx.campaign, ctx.arena, service.list_systems(session, campaign=ctx.campaign))


@router.post("/{slug}/systems", status_code=201)
def add_system(ctx: ArenaDep, data: SystemCreate, session: SessionDep, user: Admin) -> SystemRead:
    return SystemRead.model_validate(service.add_system(session, campaign=ctx.campaign, data=data))


@router.patch("/{slug}/systems/{name}")
def update_system(
    ctx: ArenaDep, name: str, data: SystemUpdate, session: SessionDep, user: Admin
) -> SystemRead:
    system = service.get_system(session, campaign=ctx.campaign, name=name)
    return SystemRead.model_validate(service.update_system(session, system=system, data=data))


@router.post("/{slug}/prompts", status_code=201)
async def import_prompts(
    request: Request, ctx: ArenaDep, session: SessionDep, user: Researcher
) -> dict[str, int]:
    """A prompt set as JSON Lines: {"id", "prompt", "tags"}; all lines or none are stored."""
    limit = get_settings().max_import_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Invalid(f"the body is over the {limit} byte limit; split the file")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportRejected(f"the body is not UTF-8 (byte {exc.start})") from None
    return await run_in_threadpool(
        service.import_prompts, session, campaign=ctx.campaign, lines=text.splitlines()
    )


@router.post("/{slug}/battles", status_code=201)
def start_battle(ctx: ArenaDep, data: BattleCreate, session: SessionDep, voter: VoterDep) -> BattleRead:
    battle = flows.start_battle(
        session, campaign=ctx.campaign, arena=ctx.arena, voter=voter, prompt=data.prompt
    )
    battle = service.get_battle(session, public_id=battle.public_id)
    return battle_read(battle, slug=ctx.campaign.slug, max_turns=ctx.config.max_turns)


@router.get("/{slug}/battles/{battle_id}")
def read_battle(ctx: ArenaDep, battle_id: str, session: SessionDep, voter: VoterDep) -> BattleRead:
    battle = service.battle_for_voter(
        session, public_id=battle_id, campaign=ctx.campaign, voter_key=voter.key
    )
    if battle.status == BattleStatus.generating:
        service.settle(session, battle=battle, timeout_s=ctx.config.answer_timeout_s)
    return battle_read(battle, slug=ctx.campaign.slug, max_turns=ctx.config.max_turns)


@router.post("/{slug}/battles/{battle_id}/turns")
def add_turn(
    ctx: ArenaDep, battle_id: str, data: TurnCreate, session: SessionDep, voter: VoterDep
) -> BattleRead:
    battle = service.battle_for_voter(
        session, public_id=battle_id, campaign=ctx.campaign, voter_key=voter.key
    )
    flows.add_turn(
        session, campaign=ctx.campaign, arena=ctx.arena, battle=battle, voter=voter, prompt=data.prompt
    )
    battle = service.get_battle(session, public_id=battle_id)
    return battle_read(battle, slug=ctx.campaign.slug, max_turns=ctx.config.max_turns)


@router.post("/{slug}/battles/{battle_id}/vote")
def vote(
    ctx: ArenaDep,
    battle_id: str,
    data: VoteCreate,
    response: Response,
    session: SessionDep,
    voter: VoterDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> BattleRead:
    battle = service.battle_for_voter(
        session, public_id=battle_id, campaign=ctx.campaign, voter_key=voter.key
    )
    battle, created = flows.vote(
        session,
        campaign=ctx.campaign,
        arena=ctx.arena,
        battle=battle,
        voter=voter,
        winner=data.winner,
        key=idempotency_key,
    )
    response.status_code = 201 if created else 200
    return battle_read(
        service.get_battle(session, public_id=battle_id),
        slug=ctx.campaign.slug,
        max_turns=ctx.config.max_turns,
    )


def _leaderboard_reader(ctx: ArenaDep, user: OptionalUser) -> None:
    if not ctx.config.public_leaderboard:
        ensure_role(user, Role.annotator)


@router.get("/{slug}/leaderboard")
def read_leaderboard(
    ctx: ArenaDep,
    session: SessionDep,
    user: OptionalUser,
    category: Annotated[str, Query(max_length=100)] = "",
) -> dict[str, object]:
    _leaderboard_reader(ctx, user)
    snapshot = leaderboard.latest_snapshot(session, campaign_id=ctx.campaign.id, category=category)
    if snapshot is None:
        raise NotFound(
            "no leaderboard yet: it is computed after the first votes"
            if not category
            else f"no category '{category}'"
        )
    return leaderboard.snapshot_json(snapshot)


@router.get("/{slug}/leaderboard.csv")
def read_leaderboard_csv(
    ctx: ArenaDep,
    session: SessionDep,
    user: OptionalUser,
    category: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    _leaderboard_reader(ctx, user)
    snapshot = leaderboard.latest_snapshot(session, campaign_id=ctx.campaign.id, category=category)
    if snapshot is None:
        raise NotFound("no leaderboard yet: it is computed after the first votes")
    return Response(
        to_csv(snapshot.data["ratings"]),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{ctx.campaign.slug}-leaderboard.csv"'},
    )


@router.post("/{slug}/leaderboard/refresh", status_code=202)
def refresh_leaderboard(ctx: ArenaDep, user: Researcher) -> dict[str, str]:
    flows.request_refresh(campaign_id=ctx.campaign.id)
    return {"detail": "a new leaderboard is being computed"}


@router.get("/{slug}/battles.jsonl")
def export_battles(
    ctx: ArenaDep,
    user: Researcher,
    filtered: Annotated[bool, Query(description="only the battles the leaderboard counts")] = True,
) -> StreamingResponse:
    rows = battle_rows(campaign_id=ctx.campaign.id, filtered=filtered)
    return StreamingResponse(
        jsonl_lines(rows),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{ctx.campaign.slug}-battles.jsonl"'},
    )


@router.get("/{slug}/voters")
def voters(ctx: ArenaDep, session: SessionDep, user: Admin) -> list[VoterRead]:
    return [VoterRead.model_validate(v) for v in list_voters(session, campaign_id=ctx.campaign.id)]


@router.post("/{slug}/voters/{voter_key}/{action}")
def decide_voter(ctx: ArenaDep, voter_key: str, action: str, session: SessionDep, user: Admin) -> VoterRead:
    voter = set_voter_status(session, campaign_id=ctx.campaign.id, voter_key=voter_key, action=action)
    return VoterRead.model_validate(voter)


@router.get("/{slug}/battles/{battle_id}/events")
def battle_event_stream(
    ctx: ArenaDep, battle_id: str, session: SessionDep, voter: VoterDep
) -> StreamingResponse:
    """Server-sent events: `delta` (side, turn, text, offset) while the answers are written, then `done`
    (the answers rendered) or `failed` (a message). The page and API clients read the same stream."""
    battle = service.battle_for_voter(
        session, public_id=battle_id, campaign=ctx.campaign, voter_key=voter.key
    )
    return StreamingResponse(
        battle_events(battle.id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/{slug}/battles/{battle_id}/answers/{turn}/{side}/media",
    response_class=StreamingResponse,
    responses={206: {"description": "the requested byte range"}, 404: {"description": "no such file"}},
)
def answer_media(
    ctx: ArenaDep,
    battle_id: str,
    turn: Annotated[int, Path(ge=1, le=100)],
    side: Annotated[str, Path(pattern="^[ab]$")],
    request: Request,
    session: SessionDep,
    voter: VoterDep,
) -> Response:
    """The file one side answered with (audio, image, video), for the battle's own voter; byte ranges
    (206) let a player seek. The URL names the battle, turn and side, never the system."""
    battle = service.battle_for_voter(
        session, public_id=battle_id, campaign=ctx.campaign, voter_key=voter.key
    )
    return file_response(service.answer_media(battle, turn=turn, side=side), request)
