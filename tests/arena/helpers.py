"""Helpers for arena tests: an arena made through the API, battles read to their end over the event
stream, and votes stored through the services for leaderboard tests."""

import json
from typing import Any

from fastapi.testclient import TestClient


def replay(outputs: dict[str, str]) -> dict[str, Any]:
    return {"kind": "replay", "outputs": outputs}


def create_arena(
    client: TestClient,
    admin: dict[str, str],
    systems: list[dict[str, Any]],
    *,
    slug: str = "arena",
    **config: Any,
) -> dict[str, Any]:
    r = client.post(
        "/api/v1/arenas",
        json={"slug": slug, "name": slug.title(), "config": config, "systems": systems},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return r.json()


def read_events(
    client: TestClient, url: str, headers: dict[str, str] | None = None
) -> list[tuple[str, dict]]:
    """Every event of a battle's stream, until it ends (done or failed)."""
    events: list[tuple[str, dict]] = []
    with client.stream("GET", url, headers=headers or {}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: ") and name:
                events.append((name, json.loads(line[len("data: ") :])))
                name = None
    return events


def battle_to_end(
    client: TestClient, headers: dict[str, str], slug: str = "arena", prompt: str | None = "hello"
) -> tuple[dict[str, Any], list[tuple[str, dict]]]:
    r = client.post(
        f"/api/v1/arenas/{slug}/battles", json={"prompt": prompt} if prompt else {}, headers=headers
    )
    assert r.status_code == 201, r.text
    battle = r.json()
    events = read_events(client, battle["stream_url"], headers)
    r = client.get(f"/api/v1/arenas/{slug}/battles/{battle['id']}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json(), events


def seed_votes(
    session: Any, *, slug: str, votes: list[tuple[str, str, str, str]], tags: tuple[str, ...] = ()
) -> None:
    """Stores voted battles directly: (system a, system b, winner as in FastChat, voter key) each, with
    answers whose length grows with the system's name (for style-control tests)."""
    from sqlalchemy import select, update

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
    from app.arena.style import style_features
    from app.campaigns.service import get_campaign
    from app.db import utcnow

    campaign = get_campaign(session, slug=slug)
    systems = {
        s.name: s for s in session.scalars(select(ArenaSystem).where(ArenaSystem.campaign_id == campaign.id))
    }
    for a, b, winner, voter in votes:
        battle = Battle(
            campaign_id=campaign.id,
            system_a_id=systems[a].id,
            system_b_id=systems[b].id,
            voter_key=voter,
            status=BattleStatus.voted,
            winner=Winner(winner),
            voted_at=utcnow(),
            tags=list(tags),
        )
        session.add(battle)
        session.flush()
        for tag in tags:
            session.add(BattleTag(battle_id=battle.id, tag=tag))
        for side in ("a", "b"):
            content = "word " * (2 + len(a if side == "a" else b))  # longer names, longer answers
            session.add(
                BattleAnswer(
                    battle_id=battle.id,
                    turn=1,
                    side=side,
                    prompt="p",
                    content=content,
                    status=AnswerStatus.done,
                    meta={"style": style_features(content)},
                )
            )
    session.execute(
        update(Arena).where(Arena.campaign_id == campaign.id).values(vote_count=Arena.vote_count + len(votes))
    )
    session.commit()
