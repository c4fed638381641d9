"""Battle exports in the layout of FastChat's cleaned battles, so existing arena tooling (and
`preflab leaderboard`) reads them: model_a, model_b, winner, judge, turn, anony, tstamp,
conversation_a/b, conv_metadata. `filtered` keeps only what the leaderboard counts."""

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.arena.models import Battle
from app.auth.models import User
from app.db import session_scope
from app.leaderboard.service import counted_battles

BATCH = 500


def battle_rows(*, campaign_id: int, filtered: bool) -> Iterator[dict[str, Any]]:
    """Voted battles in vote order, read in batches on a session of their own (the response streams)."""
    if filtered:
        query = counted_battles(campaign_id)
    else:
        query = select(Battle).where(Battle.campaign_id == campaign_id, Battle.winner.is_not(None))
    query = query.options(
        selectinload(Battle.answers), selectinload(Battle.system_a), selectinload(Battle.system_b)
    ).order_by(Battle.id)
    last_id = 0
    while True:
        with session_scope() as session:
            battles = list(session.scalars(query.where(Battle.id > last_id).limit(BATCH)))
            pseudonyms = _pseudonyms(session, {b.user_id for b in battles if b.user_id})
            rows = [_row(b, pseudonyms) for b in battles]
        yield from rows
        if len(battles) < BATCH:
            return
        last_id = battles[-1].id


def _pseudonyms(session: Any, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(session.execute(select(User.id, User.pseudonym).where(User.id.in_(user_ids))).all())


def _conversation(battle: Battle, side: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for answer in sorted((a for a in battle.answers if a.side == side), key=lambda a: a.turn):
        messages.append({"role": "user", "content": answer.prompt})
        reply: dict[str, Any] = {"role": "assistant", "content": answer.content}
        if answer.media is not None:
            # A file answer (audio, image, video): the store's content hash, as in the pairwise export.
            reply["media"] = {"sha256": answer.media.sha256, "mime": answer.media.mime, **answer.media.meta}
        messages.append(reply)
    return messages


def _style_sum(battle: Battle, side: str, name: str) -> float:
    return sum(float((a.meta.get("style") or {}).get(name, 0)) for a in battle.answers if a.side == side)


def _media_metadata(battle: Battle) -> dict[str, float]:
    """Seconds of audio or video per side, in battles with file answers."""
    if all(a.media is None for a in battle.answers):
        return {}
    return {
        "duration_a": _style_sum(battle, "a", "duration"),
        "duration_b": _style_sum(battle, "b", "duration"),
    }


def _row(battle: Battle, pseudonyms: dict[int, str]) -> dict[str, Any]:
    assert battle.winner is not None and battle.voted_at is not None
    judge = pseudonyms.get(battle.user_id or 0) or "anon_" + battle.voter_key.split(":", 1)[-1][:12]
    return {
        "question_id": battle.public_id,
        "model_a": battle.system_a.name,
        "model_b": battle.system_b.name,
        "winner": battle.winner.value,
        "judge": judge,
        "turn": battle.turns,
        "anony": True,
        "tstamp": battle.voted_at.timestamp(),
        "conversation_a": _conversation(battle, "a"),
        "conversation_b": _conversation(battle, "b"),
        "tags": battle.tags,
        "identity_leak": battle.identity_leak,
        "flags": battle.flags,
        "conv_metadata": {
            "sum_assistant_a_tokens": _style_sum(battle, "a", "length"),
            "sum_assistant_b_tokens": _style_sum(battle, "b", "length"),
            "header_count_a": _style_sum(battle, "a", "headers"),
            "header_count_b": _style_sum(battle, "b", "headers"),
            "list_count_a": _style_sum(battle, "a", "lists"),
            "list_count_b": _style_sum(battle, "b", "lists"),
            "bold_count_a": _style_sum(battle, "a", "bold"),
            "bold_count_b": _style_sum(battle, "b", "bold"),
        }
        | _media_metadata(battle),
    }


def jsonl_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, ensure_ascii=False) + "\n"
