"""Active pair sampling in arenas: battles go to the pairs whose order the counted votes leave open."""

import random
from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.arena import service
from app.arena.models import ArenaSystem, Battle, Winner
from app.auth.models import Role
from app.selection import live
from tests.api_helpers import bearer
from tests.arena.helpers import create_arena, replay


def test_active_sampling_spends_battles_where_the_order_is_open(client: TestClient, session: Session) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    names = ["s0", "s1", "s2", "s3"]
    create_arena(client, admin, [{"name": n, "provider": replay({"*": n})} for n in names], sampling="active")
    campaign, arena = service.get_arena(session, slug="arena")
    ids = {
        s.name: s.id
        for s in session.scalars(select(ArenaSystem).where(ArenaSystem.campaign_id == campaign.id))
    }
    # s0 > s1 > s2 > s3, clearly between non-neighbours; neighbours met only twice, one win each.
    decided = [("s0", "s2"), ("s0", "s3"), ("s1", "s3")]
    for better, worse in decided:
        for k in range(15):
            session.add(
                Battle(
                    campaign_id=campaign.id,
                    system_a_id=ids[better],
                    system_b_id=ids[worse],
                    voter_key=f"v{k}",
                    winner=Winner.model_a,
                    status="voted",
                )
            )
    for first, second in [("s0", "s1"), ("s1", "s2"), ("s2", "s3")]:
        for winner in (Winner.model_a, Winner.model_b):
            session.add(
                Battle(
                    campaign_id=campaign.id,
                    system_a_id=ids[first],
                    system_b_id=ids[second],
                    voter_key="w",
                    winner=winner,
                    status="voted",
                )
            )
    session.commit()
    live._arena_cache.clear()
    rng = random.Random(1)
    picks: Counter[frozenset[str]] = Counter()
    for _ in range(60):
        battle = service.start_battle(
            session, campaign=campaign, arena=arena, voter_key="me", user=None, prompt="hi", rng=rng
        )
        picks[frozenset((battle.system_a.name, battle.system_b.name))] += 1
        session.rollback()
    neighbours = sum(picks[frozenset(pair)] for pair in [("s0", "s1"), ("s1", "s2"), ("s2", "s3")])
    assert neighbours >= 45, picks
    assert sum(picks.values()) == 60
