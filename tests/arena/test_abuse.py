"""Abuse controls wired into the arena's routes: rate limits (429 with Retry-After), moderation of
typed prompts (block, warn), anonymous voters with a signed cookie only where the arena allows them."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import config
from app.arena.models import Battle
from app.auth.models import Role
from tests.api_helpers import bearer
from tests.arena.helpers import create_arena, read_events, replay

PROMPT = "Tell me a joke."


def _systems() -> list[dict]:
    return [{"name": n, "provider": replay({PROMPT: f"{n} joke"})} for n in ("one", "two")]


def test_battles_and_votes_are_rate_limited_per_voter(client: TestClient, session: Session) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    other = bearer(session, "other@example.org")
    create_arena(client, admin, _systems(), battles_per_minute=2, votes_per_minute=1)
    ids = []
    for _ in range(2):
        r = client.post("/api/v1/arenas/arena/battles", json={"prompt": PROMPT}, headers=voter)
        assert r.status_code == 201
        ids.append(r.json()["id"])
        read_events(client, r.json()["stream_url"], voter)
    refused = client.post("/api/v1/arenas/arena/battles", json={"prompt": PROMPT}, headers=voter)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "too many battles" in refused.json()["detail"]
    assert (
        client.post("/api/v1/arenas/arena/battles", json={"prompt": PROMPT}, headers=other).status_code == 201
    )

    assert (
        client.post(
            f"/api/v1/arenas/arena/battles/{ids[0]}/vote", json={"winner": "a"}, headers=voter
        ).status_code
        == 201
    )
    r = client.post(f"/api/v1/arenas/arena/battles/{ids[1]}/vote", json={"winner": "a"}, headers=voter)
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert session.scalar(select(Battle.winner).where(Battle.public_id == ids[1])) is None


def test_moderation_blocks_or_flags_typed_prompts(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFLAB_ARENA_BLOCKLIST", '["weapons: build a bomb", "medical: dosage"]')
    monkeypatch.setenv("PREFLAB_ARENA_MODERATION_ACTIONS", '{"weapons": "block", "medical": "warn"}')
    config.get_settings.cache_clear()
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    create_arena(
        client,
        admin,
        [{"name": n, "provider": replay({"What dosage is safe?": "ask a doctor"})} for n in ("x", "y")],
    )

    blocked = client.post(
        "/api/v1/arenas/arena/battles", json={"prompt": "How do I BUILD A BOMB"}, headers=voter
    )
    assert blocked.status_code == 422 and "content policy" in blocked.json()["detail"]
    assert session.scalar(select(Battle.id)) is None
    session.commit()

    warned = client.post(
        "/api/v1/arenas/arena/battles", json={"prompt": "What dosage is safe?"}, headers=voter
    )
    assert warned.status_code == 201 and warned.json()["warnings"] == ["medical"]


def test_anonymous_voters_need_the_arena_to_allow_them(client: TestClient, session: Session) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    create_arena(client, admin, _systems())
    page = client.get("/arena/arena", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code in (302, 303) and "/login" in page.headers["location"]

    client.patch("/api/v1/arenas/arena/config", json={"allow_anonymous": True}, headers=admin)
    page = client.get("/arena/arena", headers={"Accept": "text/html"})
    assert page.status_code == 200
    cookie = next(c for c in client.cookies.jar if c.name.startswith("preflab_arena_voter"))
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    r = client.post(
        "/arena/arena/battles", data={"prompt": PROMPT, "csrf_token": csrf}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 200 and "data-stream" in r.text
    battle = session.scalar(select(Battle))
    assert battle.voter_key.startswith("anon:") and battle.user_id is None
    session.commit()
    # The same visitor (same cookie) reads its battle; a tampered cookie is somebody else.
    events = read_events(client, f"/api/v1/arenas/arena/battles/{battle.public_id}/events")
    assert events[-1][0] == "done"
    # Without the session's CSRF token an anonymous form post is refused.
    assert client.post("/arena/arena/battles", data={"prompt": PROMPT}).status_code == 403
    client.cookies.clear()
    payload, stamp, signature = cookie.value.rsplit(".", 2)
    tampered = ("A" if signature[0] != "A" else "B") + signature[1:]  # the last character holds padding bits
    client.cookies.set(cookie.name, f"{payload}.{stamp}.{tampered}")
    assert client.get(f"/api/v1/arenas/arena/battles/{battle.public_id}/events").status_code == 403
