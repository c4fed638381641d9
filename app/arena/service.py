"""Arena lifecycle: arenas and their systems, battles (pairing, prompts, turns), votes. No HTTP here;
callers commit. Answers are generated elsewhere (`answers.py`); this module only records them."""

import random
import re
import unicodedata
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from app.arena.models import (
    AnswerStatus,
    Arena,
    ArenaSystem,
    Battle,
    BattleAnswer,
    BattleStatus,
    BattleTag,
    Winner,
)
from app.arena.schemas import ArenaConfig, ArenaCreate, PromptLine, SystemCreate, SystemUpdate
from app.auth.models import User
from app.campaigns.models import Campaign, CampaignStatus, Modality, TaskKind
from app.campaigns.schemas import CampaignCreate
from app.campaigns.service import create_campaign, get_campaign
from app.db import utcnow
from app.errors import Conflict, Forbidden, ImportRejected, Invalid, NotFound
from app.items.models import Item
from app.media.models import MediaFile
from app.selection import live as selection_live

WINNERS = {"a": Winner.model_a, "b": Winner.model_b, "tie": Winner.tie, "both_bad": Winner.both_bad}
TARGETED_SHARE = 0.5


# --- arenas and systems -------------------------------------------------------------------------------


def create_arena(session: Session, *, data: ArenaCreate, created_by: User | None) -> Campaign:
    campaign = create_campaign(
        session,
        data=CampaignCreate(
            slug=data.slug,
            name=data.name,
            guidelines=data.guidelines,
            task_kind=TaskKind.arena,
            modality=Modality.text,
        ),
        created_by=created_by,
    )
    session.add(Arena(campaign_id=campaign.id, config=data.config.model_dump(mode="json")))
    for system in data.systems:
        add_system(session, campaign=campaign, data=system)
    session.flush()
    return campaign


def get_arena(session: Session, *, slug: str) -> tuple[Campaign, Arena]:
    campaign = get_campaign(session, slug=slug)
    arena = session.scalar(select(Arena).where(Arena.campaign_id == campaign.id))
    if arena is None:
        raise NotFound(f"campaign '{slug}' is not an arena")
    return campaign, arena


def arena_config(arena: Arena) -> ArenaConfig:
    return ArenaConfig.model_validate(arena.config)


def update_config(session: Session, *, arena: Arena, changes: dict[str, object]) -> ArenaConfig:
    config = ArenaConfig.model_validate({**arena.config, **changes})
    arena.config = config.model_dump(mode="json")
    session.flush()
    return config


def list_systems(session: Session, *, campaign: Campaign, active_only: bool = False) -> list[ArenaSystem]:
    query = select(ArenaSystem).where(ArenaSystem.campaign_id == campaign.id).order_by(ArenaSystem.name)
    if active_only:
        query = query.where(ArenaSystem.is_active)
    return list(session.scalars(query))


def get_system(session: Session, *, campaign: Campaign, name: str) -> ArenaSystem:
    system = session.scalar(
        select(ArenaSystem).where(ArenaSystem.campaign_id == campaign.id, ArenaSystem.name == name)
    )
    if system is None:
        raise NotFound(f"arena '{campaign.slug}' has no system '{name}'")
    return system


def add_system(session: Session, *, campaign: Campaign, data: SystemCreate) -> ArenaSystem:
    exists = session.scalar(
        select(ArenaSystem.id).where(ArenaSystem.campaign_id == campaign.id, ArenaSystem.name == data.name)
    )
    if exists is not None:
        raise Conflict(f"arena '{campaign.slug}' already has a system '{data.name}'", field="name")
    system = ArenaSystem(campaign_id=campaign.id, **data.model_dump())
    session.add(system)
    session.flush()
    return system


def update_system(session: Session, *, system: ArenaSystem, data: SystemUpdate) -> ArenaSystem:
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise Invalid(f"{name} cannot be null", field=name)
        setattr(system, name, value)
    session.flush()
    return system


# --- pairing ------------------------------------------------------------------------------------------


def choose_pair(
    systems: list[ArenaSystem], *, sampling: str, rng: random.Random
) -> tuple[ArenaSystem, ArenaSystem]:
    """Two distinct systems. Uniform: every pair alike. Weighted: a pair in proportion to the product
    of its weights. Targeted: about half the time a system with targets meets one of them, else weighted."""
    if len(systems) < 2:
        raise Conflict("this arena needs at least two active systems before it can run battles")
    if sampling == "targeted":
        by_name = {s.name: s for s in systems}
        seekers = [(s, [by_name[t] for t in s.targets if t in by_name and t != s.name]) for s in systems]
        seekers = [(s, opponents) for s, opponents in seekers if opponents]
        if seekers and rng.random() < TARGETED_SHARE:
            system, opponents = rng.choice(seekers)
            return _shuffled(system, rng.choice(opponents), rng)
    weights = [1.0] * len(systems) if sampling == "uniform" else [max(s.weight, 0.0) for s in systems]
    if sum(1 for w in weights if w > 0) < 2:
        raise Conflict("fewer than two systems have a positive weight; raise a weight or use uniform")
    first = rng.choices(range(len(systems)), weights=weights)[0]
    rest = [i for i in range(len(systems)) if i != first]
    second = rng.choices(rest, weights=[weights[i] for i in rest])[0]
    return _shuffled(systems[first], systems[second], rng)


def _active_pair(
    session: Session, *, campaign: Campaign, systems: list[ArenaSystem], rng: random.Random
) -> tuple[ArenaSystem, ArenaSystem]:
    if len(systems) < 2:
        raise Conflict("this arena needs at least two active systems before it can run battles")
    by_name = {s.name: s for s in systems}
    pick = selection_live.arena_pair(session, campaign_id=campaign.id, systems=list(by_name))
    if pick is None:
        return choose_pair(systems, sampling="uniform", rng=rng)
    return _shuffled(by_name[pick[0]], by_name[pick[1]], rng)


def _shuffled(x: ArenaSystem, y: ArenaSystem, rng: random.Random) -> tuple[ArenaSystem, ArenaSystem]:
    # Which system is shown on the left must not follow from how the pair was drawn.
    return (x, y) if rng.random() < 0.5 else (y, x)


def draw_prompt(session: Session, *, campaign: Campaign, rng: random.Random) -> Item:
    total = session.scalar(select(func.count()).select_from(Item).where(Item.campaign_id == campaign.id))
    if not total:
        raise Conflict("this arena has no prompt set: import items, or type a prompt")
    return session.scalars(
        select(Item)
        .where(Item.campaign_id == campaign.id)
        .order_by(Item.id)
        .offset(rng.randrange(total))
        .limit(1)
    ).one()


def import_prompts(session: Session, *, campaign: Campaign, lines: list[str]) -> dict[str, int]:
    """A prompt set from JSON Lines ({"id", "prompt", "tags"?}); one bad line rejects them all, and
    ids already in the arena are skipped."""
    parsed: dict[str, PromptLine] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = PromptLine.model_validate_json(raw)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            raise ImportRejected(f"{where + ': ' if where else ''}{problem['msg']}", line=number) from None
        if line.id in parsed:
            raise ImportRejected(f"id '{line.id}' appears twice", line=number)
        parsed[line.id] = line
    if not parsed:
        raise ImportRejected("the file holds no prompts")
    existing = set(session.scalars(select(Item.external_id).where(Item.campaign_id == campaign.id)))
    new = [line for key, line in parsed.items() if key not in existing]
    session.add_all(
        Item(campaign_id=campaign.id, external_id=line.id, prompt=line.prompt, tags=line.tags, context={})
        for line in new
    )
    session.flush()
    return {"lines": len(parsed), "prompts_created": len(new), "prompts_skipped": len(parsed) - len(new)}


# --- battles ------------------------------------------------------------------------------------------


def start_battle(
    session: Session,
    *,
    campaign: Campaign,
    arena: Arena,
    voter_key: str,
    user: User | None,
    prompt: str | None,
    flags: list[str] | None = None,
    rng: random.Random | None = None,
) -> Battle:
    """A new battle with its first turn's two answers pending; the caller starts their generation."""
    rng = rng or random.SystemRandom()
    config = arena_config(arena)
    if campaign.status != CampaignStatus.active:
        raise Conflict(f"arena '{campaign.slug}' is {campaign.status.value}, not taking battles")
    item: Item | None = None
    if prompt is None:
        if config.prompt_source == "live":
            raise Invalid("this arena asks you to type a prompt", field="prompt")
        item = draw_prompt(session, campaign=campaign, rng=rng)
        prompt = item.prompt
    else:
        if config.prompt_source == "set":
            raise Invalid("this arena gives the prompts; ask for one instead of typing", field="prompt")
        prompt = check_prompt(prompt, config=config)
    systems = list_systems(session, campaign=campaign, active_only=True)
    if config.sampling == "active":
        system_a, system_b = _active_pair(session, campaign=campaign, systems=systems, rng=rng)
    else:
        system_a, system_b = choose_pair(systems, sampling=config.sampling, rng=rng)
    battle = Battle(
        campaign_id=campaign.id,
        system_a_id=system_a.id,
        system_b_id=system_b.id,
        voter_key=voter_key,
        user_id=user.id if user else None,
        item_id=item.id if item else None,
        tags=list(item.tags) if item else [],
        flags=list(flags or []),
    )
    session.add(battle)
    session.flush()
    for tag in dict.fromkeys(battle.tags):
        session.add(BattleTag(battle_id=battle.id, tag=str(tag)[:100]))
    _add_turn_answers(session, battle=battle, turn=1, prompt=prompt)
    return battle


def check_prompt(prompt: str, *, config: ArenaConfig) -> str:
    text = prompt.strip()
    if not text:
        raise Invalid("the prompt is empty", field="prompt")
    if len(text) > config.max_prompt_chars:
        raise Invalid(f"the prompt is longer than {config.max_prompt_chars} characters", field="prompt")
    return text


def _add_turn_answers(session: Session, *, battle: Battle, turn: int, prompt: str) -> None:
    for side in ("a", "b"):
        session.add(BattleAnswer(battle_id=battle.id, turn=turn, side=side, prompt=prompt))
    session.flush()


def add_turn(
    session: Session, *, battle: Battle, arena: Arena, prompt: str, flags: list[str] | None = None
) -> Battle:
    config = arena_config(arena)
    if battle.status != BattleStatus.ready:
        raise Conflict(f"this battle is {battle.status.value}; a new turn needs both answers finished")
    if battle.turns >= config.max_turns:
        raise Conflict(f"this arena allows {config.max_turns} turn(s) per battle; vote now")
    prompt = check_prompt(prompt, config=config)
    battle.turns += 1
    battle.status = BattleStatus.generating
    battle.flags = list(dict.fromkeys([*battle.flags, *(flags or [])]))
    _add_turn_answers(session, battle=battle, turn=battle.turns, prompt=prompt)
    return battle


def get_battle(session: Session, *, public_id: str, campaign: Campaign | None = None) -> Battle:
    query = (
        select(Battle)
        .where(Battle.public_id == public_id)
        .options(selectinload(Battle.answers), selectinload(Battle.system_a), selectinload(Battle.system_b))
    )
    battle = session.scalar(query)
    if battle is None or (campaign is not None and battle.campaign_id != campaign.id):
        raise NotFound("no such battle")
    return battle


def battle_for_voter(session: Session, *, public_id: str, campaign: Campaign, voter_key: str) -> Battle:
    battle = get_battle(session, public_id=public_id, campaign=campaign)
    if battle.voter_key != voter_key:
        raise Forbidden("this battle belongs to another voter")
    return battle


def answer_media(battle: Battle, *, turn: int, side: str) -> MediaFile:
    """The file one side answered with in one turn."""
    for answer in battle.answers:
        if answer.turn == turn and answer.side == side and answer.media is not None:
            return answer.media
    raise NotFound(f"no media for side {side!r} of turn {turn} in this battle")


def media_url(battle: Battle, answer: BattleAnswer, *, slug: str) -> str | None:
    """Where the voter's browser reads an answer's file: named by battle, turn and side, never by the
    system or the file, so it tells nothing before the vote."""
    if answer.media_id is None:
        return None
    return f"/api/v1/arenas/{slug}/battles/{battle.public_id}/answers/{answer.turn}/{answer.side}/media"


def latest_answers(battle: Battle) -> list[BattleAnswer]:
    return [a for a in battle.answers if a.turn == battle.turns]


def settle(session: Session, *, battle: Battle, timeout_s: float) -> Battle:
    """Moves a generating battle on: ready when both sides of its last turn are done, failed when a
    side failed or ran past the timeout (the side's generator sees the failure and stops)."""
    if battle.status != BattleStatus.generating:
        return battle
    session.refresh(battle, ["answers"])
    answers = latest_answers(battle)
    failed = [a for a in answers if a.status == AnswerStatus.failed]
    deadline = utcnow() - timedelta(seconds=timeout_s)
    # A pending answer nobody started (no worker listens on its queue) times out like a slow one.
    overdue = [
        a
        for a in answers
        if a.status in (AnswerStatus.pending, AnswerStatus.streaming)
        and (a.started_at or a.updated_at) < deadline
    ]
    if failed or overdue:
        for answer in overdue:
            answer.error = (
                f"no complete answer within {timeout_s:g} s"
                if answer.status == AnswerStatus.streaming
                else f"no worker started the answer within {timeout_s:g} s"
            )
            answer.status = AnswerStatus.failed
        reason = (failed or overdue)[0].error or "a model did not answer"
        battle.status = BattleStatus.failed
        battle.error = f"One of the models could not answer ({reason}). This battle ends without a vote."
    elif answers and all(a.status == AnswerStatus.done for a in answers):
        battle.status = BattleStatus.ready
        if any(_names_itself(a, battle) for a in answers):
            battle.identity_leak = True
    session.flush()
    return battle


def _names_itself(answer: BattleAnswer, battle: Battle) -> bool:
    system = battle.system_a if answer.side == "a" else battle.system_b
    return any(mentions(answer.content, name) for name in (system.name, system.vendor) if name)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def mentions(text: str, name: str) -> bool:
    """Whether `text` names `name` as a word (case, width and accents as typed are ignored)."""
    needle = _fold(name).strip()
    if len(needle) < 2:
        return False
    return re.search(rf"(?<![\w]){re.escape(needle)}(?![\w])", _fold(text)) is not None


def cast_battle_vote(
    session: Session, *, battle: Battle, winner: str, key: str | None
) -> tuple[Battle, bool]:
    """Records the vote; returns (battle, created). A replay with the same key returns the stored vote."""
    if battle.winner is not None:
        if key is not None and battle.vote_key == key:
            return battle, False
        raise Conflict("this battle already has a vote")
    if battle.status != BattleStatus.ready:
        if battle.status == BattleStatus.failed:
            raise Conflict(battle.error or "this battle failed and takes no vote")
        raise Conflict("wait until both answers are finished before voting")
    if key is not None:
        other = session.scalar(select(Battle.id).where(Battle.vote_key == key))
        if other is not None:
            raise Conflict("this Idempotency-Key was already used for another vote")
    # One conditional UPDATE: two concurrent votes on the same battle cannot both land.
    stored = session.execute(
        update(Battle)
        .where(Battle.id == battle.id, Battle.winner.is_(None))
        .values(winner=WINNERS[winner], vote_key=key, voted_at=utcnow(), status=BattleStatus.voted)
        .execution_options(synchronize_session=False)
    ).rowcount
    if stored != 1:
        raise Conflict("this battle already has a vote")
    session.execute(
        update(Arena).where(Arena.campaign_id == battle.campaign_id).values(vote_count=Arena.vote_count + 1)
    )
    session.refresh(battle)
    return battle, True


def refresh_due(session: Session, *, campaign: Campaign) -> bool:
    """True when enough votes arrived since the last leaderboard snapshot to compute a new one."""
    arena = session.scalar(select(Arena).where(Arena.campaign_id == campaign.id))
    if arena is None:
        return False
    config = arena_config(arena)
    return arena.vote_count - arena.snapshot_vote_count >= config.refresh_every_votes
