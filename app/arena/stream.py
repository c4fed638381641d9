"""Server-sent events for a battle: the two answers as they are written, then `done` or `failed`.

The stream reads the answers back from the database (whoever generates them writes them there), so it
works the same whether a web thread or a GPU worker runs the model, survives a reconnect (it starts
with everything written so far), and several tabs can watch one battle. Events carry text only: no
system name, vendor or metadata before the vote.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from anyio import to_thread
from sqlalchemy import select

from app.arena.models import Arena, Battle, BattleAnswer, BattleStatus
from app.arena.schemas import ArenaConfig
from app.arena.service import settle
from app.db import session_scope
from app.web import render_markdown

POLL_S = 0.12
KEEPALIVE_S = 10.0


@dataclass
class _Seen:
    status: BattleStatus
    error: str
    texts: dict[tuple[int, str], str]
    html: dict[str, str]


def _read(battle_id: int) -> _Seen:
    with session_scope() as session:
        battle = session.get(Battle, battle_id)
        assert battle is not None
        if battle.status == BattleStatus.generating:
            arena = session.scalar(select(Arena).where(Arena.campaign_id == battle.campaign_id))
            timeout_s = ArenaConfig.model_validate(arena.config if arena else {}).answer_timeout_s
            settle(session, battle=battle, timeout_s=timeout_s)
        answers = session.scalars(
            select(BattleAnswer).where(BattleAnswer.battle_id == battle_id, BattleAnswer.turn == battle.turns)
        ).all()
        texts = {(a.turn, a.side): a.content for a in answers}
        html = {}
        if battle.status in (BattleStatus.ready, BattleStatus.voted):
            html = {a.side: str(render_markdown(a.content)) for a in answers}
        return _Seen(battle.status, battle.error, texts, html)


def _event(name: str, data: dict[str, object]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


async def battle_events(battle_id: int) -> AsyncIterator[str]:
    sent: dict[tuple[int, str], int] = {}
    quiet_s = 0.0
    yield "retry: 1000\n\n"
    while True:
        seen = await to_thread.run_sync(_read, battle_id)
        for (turn, side), text in sorted(seen.texts.items()):
            start = sent.get((turn, side), 0)
            if len(text) > start:
                yield _event("delta", {"turn": turn, "side": side, "text": text[start:], "offset": start})
                sent[(turn, side)] = len(text)
                quiet_s = 0.0
        if seen.status == BattleStatus.failed:
            yield _event("failed", {"message": seen.error})
            return
        if seen.status != BattleStatus.generating:
            yield _event(
                "done",
                {"status": seen.status.value, "a": seen.html.get("a", ""), "b": seen.html.get("b", "")},
            )
            return
        await asyncio.sleep(POLL_S)
        quiet_s += POLL_S
        if quiet_s >= KEEPALIVE_S:
            quiet_s = 0.0
            yield ": keep-alive\n\n"
