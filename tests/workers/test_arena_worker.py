"""Arena work on a real Celery worker over Redis: a local `transformers` model answers its side of a
battle in the worker while the page streams it, and votes trigger a leaderboard refresh there."""

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import config
from app.arena.models import BattleAnswer, LeaderboardSnapshot
from app.auth.models import Role
from tests.api_helpers import bearer
from tests.arena.helpers import create_arena, read_events, replay

pytestmark = pytest.mark.worker


def test_a_local_model_answers_in_the_worker_and_votes_refresh_the_leaderboard(
    client: TestClient,
    session: Session,
    worker: dict[str, str],
    tiny_lm: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFLAB_REDIS_URL", worker["PREFLAB_REDIS_URL"])
    config.get_settings.cache_clear()
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    local = {"kind": "transformers", "path": str(tiny_lm), "device": "cpu"}
    create_arena(
        client,
        admin,
        [{"name": "local", "provider": local}, {"name": "fixed", "provider": replay({"hi": "hello"})}],
        params={"max_tokens": 6, "temperature": 0},
        refresh_every_votes=2,
        min_battles=1,
        bootstrap_rounds=50,
    )
    for k in range(2):
        r = client.post("/api/v1/arenas/arena/battles", json={"prompt": "hi"}, headers=voter)
        assert r.status_code == 201, r.text
        battle = r.json()
        events = read_events(client, battle["stream_url"], voter)
        assert events[-1][0] == "done", events[-1]
        vote = client.post(
            f"/api/v1/arenas/arena/battles/{battle['id']}/vote", json={"winner": "ab"[k]}, headers=voter
        )
        assert vote.status_code == 201, vote.text

    local_answers = session.scalars(
        select(BattleAnswer).where(BattleAnswer.meta["provider"].as_string() == "transformers")
    ).all()
    assert len(local_answers) == 2 and all(a.meta["completion_tokens"] for a in local_answers)
    session.commit()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snapshot = session.scalar(select(LeaderboardSnapshot).where(LeaderboardSnapshot.category == ""))
        session.commit()
        if snapshot is not None:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the worker did not compute a leaderboard after 2 votes")
    board = client.get("/api/v1/arenas/arena/leaderboard").json()
    assert board["vote_count"] == 2 and {r["system"] for r in board["ratings"]} == {"local", "fixed"}
