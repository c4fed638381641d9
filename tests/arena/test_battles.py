"""Battles through the API: two anonymous answers streamed from real providers (replay, a live
OpenAI-compatible server on a tiny model), vote then reveal, failures and timeouts that end a battle
cleanly, identity leaks, multi-turn conversations, prompts drawn from the prompt set."""

import json
import random
from collections import Counter
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.arena.models import Battle, BattleTag
from app.arena.service import choose_pair, mentions
from app.auth.models import Role
from tests.api_helpers import bearer
from tests.arena.helpers import battle_to_end, create_arena, read_events, replay
from tests.support.openai_server import OpenAIServer

PROMPT = "Name a colour."
NAMES = ("alpha-chat", "beta-chat")


def two_replays(a: str = "Blue, like the sky.", b: str = "Red.") -> list[dict]:
    return [
        {"name": NAMES[0], "vendor": "Alphacorp", "provider": replay({PROMPT: a})},
        {"name": NAMES[1], "vendor": "Betalabs", "provider": replay({PROMPT: b})},
    ]


def test_a_battle_streams_two_anonymous_answers_then_reveals_after_the_vote(
    client: TestClient, session: Session
) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    create_arena(client, admin, two_replays())
    battle, events = battle_to_end(client, voter, prompt=PROMPT)

    assert events[-1][0] == "done"
    streamed = {
        side: "".join(d["text"] for n, d in events if n == "delta" and d["side"] == side) for side in "ab"
    }
    assert sorted(streamed.values()) == ["Blue, like the sky.", "Red."]
    assert battle["status"] == "ready" and battle["model_a"] is None and battle["model_b"] is None
    # Blind: nothing the voter received so far names a system or vendor.
    seen = json.dumps(events) + json.dumps(battle)
    for secret in (*NAMES, "Alphacorp", "Betalabs", "replay"):
        assert secret not in seen

    url = f"/api/v1/arenas/arena/battles/{battle['id']}/vote"
    r = client.post(url, json={"winner": "a"}, headers={**voter, "Idempotency-Key": "k1"})
    assert r.status_code == 201, r.text
    voted = r.json()
    assert voted["winner"] == "model_a" and {voted["model_a"], voted["model_b"]} == set(NAMES)
    a_answer = next(a["content"] for a in voted["answers"] if a["side"] == "a")
    assert a_answer == ("Blue, like the sky." if voted["model_a"] == NAMES[0] else "Red.")

    replayed = client.post(url, json={"winner": "a"}, headers={**voter, "Idempotency-Key": "k1"})
    assert replayed.status_code == 200 and replayed.json()["winner"] == "model_a"
    again = client.post(url, json={"winner": "b"}, headers={**voter, "Idempotency-Key": "k2"})
    assert again.status_code == 409
    assert session.scalar(select(Battle.winner)).value == "model_a"


def test_voting_is_refused_before_both_answers_are_done_and_for_another_voter(
    client: TestClient, session: Session, openai_server: OpenAIServer
) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    other = bearer(session, "other@example.org")
    served = {"kind": "openai", "base_url": openai_server.base_url, "model": "tiny"}
    openai_server.piece_delay_s = 0.2
    create_arena(
        client,
        admin,
        [{"name": "a", "provider": served}, {"name": "b", "provider": served}],
        params={"max_tokens": 8, "temperature": 0},
    )
    r = client.post("/api/v1/arenas/arena/battles", json={"prompt": "hi"}, headers=voter)
    battle = r.json()
    early = client.post(
        f"/api/v1/arenas/arena/battles/{battle['id']}/vote", json={"winner": "tie"}, headers=voter
    )
    assert early.status_code == 409 and "wait" in early.json()["detail"]
    assert client.get(f"/api/v1/arenas/arena/battles/{battle['id']}", headers=other).status_code == 403
    assert client.get(battle["stream_url"], headers=other).status_code == 403
    events = read_events(client, battle["stream_url"], voter)
    assert events[-1][0] == "done"
    # The tiny model's answers arrived in several pieces, not in one block at the end.
    assert sum(1 for name, _ in events if name == "delta") >= 3
    r = client.post(
        f"/api/v1/arenas/arena/battles/{battle['id']}/vote", json={"winner": "tie"}, headers=voter
    )
    assert r.status_code == 201 and r.json()["winner"] == "tie"


@pytest.mark.parametrize("mode", ["fail", "fail_midway"])
def test_a_failing_side_ends_the_battle_with_a_message_and_no_vote(
    client: TestClient, session: Session, openai_server: OpenAIServer, mode: str
) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    openai_server.mode = mode
    served = {"kind": "openai", "base_url": openai_server.base_url, "model": "tiny"}
    create_arena(
        client,
        admin,
        [{"name": "served", "provider": served}, {"name": "fine", "provider": replay({PROMPT: "ok"})}],
    )
    battle, events = battle_to_end(client, voter, prompt=PROMPT)
    assert events[-1][0] == "failed" and "could not answer" in events[-1][1]["message"]
    assert battle["status"] == "failed" and battle["model_a"] is None
    r = client.post(f"/api/v1/arenas/arena/battles/{battle['id']}/vote", json={"winner": "a"}, headers=voter)
    assert r.status_code == 409
    assert session.scalar(select(Battle.winner)) is None


def test_a_side_that_stalls_past_the_timeout_fails_the_battle(
    client: TestClient, session: Session, openai_server: OpenAIServer
) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    openai_server.mode = "stall"
    served = {"kind": "openai", "base_url": openai_server.base_url, "model": "tiny"}
    create_arena(
        client,
        admin,
        [{"name": "slow", "provider": served}, {"name": "fast", "provider": replay({PROMPT: "ok"})}],
        answer_timeout_s=1.0,
    )
    battle, events = battle_to_end(client, voter, prompt=PROMPT)
    openai_server.wake_stalled()
    assert events[-1][0] == "failed" and "within 1 s" in events[-1][1]["message"]
    assert battle["status"] == "failed"


def test_an_answer_naming_its_own_system_flags_the_vote_and_keeps_it(
    client: TestClient, session: Session
) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    create_arena(client, admin, two_replays(a="As a model made by ALPHACORP, I say blue."))
    battle, _ = battle_to_end(client, voter, prompt=PROMPT)
    r = client.post(f"/api/v1/arenas/arena/battles/{battle['id']}/vote", json={"winner": "b"}, headers=voter)
    assert r.status_code == 201
    stored = session.scalar(select(Battle))
    assert stored.identity_leak is True and stored.winner is not None


def test_multi_turn_battles_send_each_side_its_own_conversation(
    client: TestClient, session: Session, openai_server: OpenAIServer
) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    served = {"kind": "openai", "base_url": openai_server.base_url, "model": "tiny"}
    create_arena(
        client,
        admin,
        [{"name": "served", "provider": served}, {"name": "fixed", "provider": replay(lambda_free())}],
        max_turns=2,
        params={"max_tokens": 4, "temperature": 0},
    )
    battle, _ = battle_to_end(client, voter, prompt="first question")
    r = client.post(
        f"/api/v1/arenas/arena/battles/{battle['id']}/turns", json={"prompt": "second"}, headers=voter
    )
    assert r.status_code == 200, r.text
    read_events(client, r.json()["stream_url"], voter)
    battle = client.get(f"/api/v1/arenas/arena/battles/{battle['id']}", headers=voter).json()
    assert battle["turns"] == 2 and battle["status"] == "ready"
    last = openai_server.requests[-1]["body"]["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user"]
    assert last[0]["content"] == "first question" and last[2]["content"] == "second"
    third = client.post(
        f"/api/v1/arenas/arena/battles/{battle['id']}/turns", json={"prompt": "3"}, headers=voter
    )
    assert third.status_code == 409 and "2 turn" in third.json()["detail"]


def lambda_free() -> dict[str, str]:
    # Replay answers keyed by the conversation as plain text (see app.generation.base.prompt_text).
    return {
        "first question": "one",
        "User: first question\n\nAssistant: one\n\nUser: second\n\nAssistant:": "two",
    }


def test_prompts_drawn_from_the_prompt_set_carry_their_tags(client: TestClient, session: Session) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    outputs = {"Write a haiku.": "Leaves fall", "Sum 2+2.": "4"}
    create_arena(
        client,
        admin,
        [{"name": n, "provider": replay(outputs)} for n in NAMES],
        prompt_source="set",
    )
    lines = [
        json.dumps({"id": "p1", "prompt": "Write a haiku.", "tags": ["creative"]}),
        json.dumps({"id": "p2", "prompt": "Sum 2+2.", "tags": ["math"]}),
    ]
    r = client.post("/api/v1/arenas/arena/prompts", content="\n".join(lines), headers=admin)
    assert r.status_code == 201 and r.json()["prompts_created"] == 2, r.text
    bad = client.post("/api/v1/arenas/arena/prompts", content='{"id": "p3"}', headers=admin)
    assert bad.status_code == 422 and "line 1" in bad.json()["detail"]
    typed = client.post("/api/v1/arenas/arena/battles", json={"prompt": "mine"}, headers=voter)
    assert typed.status_code == 422
    battle, events = battle_to_end(client, voter, prompt=None)
    assert events[-1][0] == "done"
    prompt = battle["answers"][0]["prompt"]
    tag = {"Write a haiku.": "creative", "Sum 2+2.": "math"}[prompt]
    assert session.scalars(select(BattleTag.tag)).all() == [tag]


def test_bad_requests_get_clear_errors(client: TestClient, session: Session) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    researcher = bearer(session, "res@example.org", Role.researcher)
    bad = client.post(
        "/api/v1/arenas",
        json={"slug": "x", "name": "x", "systems": [{"name": "a", "provider": {"kind": "nope"}}]},
        headers=admin,
    )
    assert bad.status_code == 422
    secret = {
        "kind": "openai",
        "base_url": "http://h/v1",
        "model": "m",
        "extra_headers": {"Authorization": "k"},
    }
    assert (
        client.post(
            "/api/v1/arenas",
            json={"slug": "x", "name": "x", "systems": [{"name": "a", "provider": secret}]},
            headers=admin,
        ).status_code
        == 422
    )
    assert (
        client.post("/api/v1/arenas", json={"slug": "x", "name": "x"}, headers=researcher).status_code == 403
    )
    create_arena(client, admin, two_replays()[:1])
    r = client.post("/api/v1/arenas/arena/battles", json={"prompt": PROMPT}, headers=voter)
    assert r.status_code == 409 and "two active systems" in r.json()["detail"]
    assert (
        client.post("/api/v1/arenas/arena/battles", json={"prompt": "  "}, headers=voter).status_code == 422
    )
    assert client.post("/api/v1/arenas/nope/battles", json={"prompt": "x"}, headers=voter).status_code == 404
    assert client.post("/api/v1/arenas/arena/battles", json={"prompt": "x"}).status_code == 401
    dup = client.post("/api/v1/arenas/arena/systems", json=two_replays()[0], headers=admin)
    assert dup.status_code == 409


def test_pair_sampling_follows_the_arena_setting() -> None:
    systems = [SimpleNamespace(name=f"s{i}", weight=w, targets=[]) for i, w in enumerate([1, 1, 1, 8])]
    rng = random.Random(0)
    uniform = Counter(
        frozenset(s.name for s in choose_pair(systems, sampling="uniform", rng=rng)) for _ in range(6000)
    )
    assert len(uniform) == 6 and max(uniform.values()) / min(uniform.values()) < 1.3
    weighted = Counter(
        s.name for _ in range(4000) for s in choose_pair(systems, sampling="weighted", rng=rng)
    )
    assert weighted["s3"] > 2.5 * weighted["s0"]
    newcomer = SimpleNamespace(name="new", weight=1.0, targets=["s1"])
    targeted = [choose_pair([*systems, newcomer], sampling="targeted", rng=rng) for _ in range(4000)]
    share = sum(1 for a, b in targeted if {a.name, b.name} == {"new", "s1"}) / len(targeted)
    assert 0.45 < share < 0.6
    sides = Counter(a.name for a, b in targeted if {a.name, b.name} == {"new", "s1"})
    assert abs(sides["new"] - sides["s1"]) < 0.15 * sum(sides.values())


def test_mentions_matches_whole_names_whatever_the_case_or_width() -> None:
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "ALPHACORP")
    assert mentions(f"I was trained by {fullwidth}.", "Alphacorp")
    assert mentions("gpt-4o here", "GPT-4o")
    assert not mentions("alphacorporate", "Alphacorp")
    assert not mentions("anything", "a")


def test_the_demo_arena_battles_on_its_prompt_set(client: TestClient, session: Session) -> None:
    from app.demo.seed import seed_demo

    seed_demo(
        admin_email="a@demo.test", annotator_email="n@demo.test", password_factory=lambda: "pw-demo-123456"
    )
    voter = bearer(session, "voter@example.org")
    battle, events = battle_to_end(client, voter, slug="demo-arena", prompt=None)
    assert events[-1][0] == "done" and all(a["content"] for a in battle["answers"])
    r = client.post(
        f"/api/v1/arenas/demo-arena/battles/{battle['id']}/vote", json={"winner": "b"}, headers=voter
    )
    assert r.status_code == 201 and r.json()["model_b"]

    # The audio arena: the demo synthesizer runs as a real program for each side.
    battle, events = battle_to_end(client, voter, slug="demo-audio-arena", prompt="Hello, arena")
    assert events[-1][0] == "done", events
    for answer in battle["answers"]:
        assert answer["media"]["mime"] == "audio/wav"
        clip = client.get(answer["media"]["url"], headers=voter)
        assert clip.status_code == 200 and clip.content[:4] == b"RIFF" and len(clip.content) > 30_000


def test_a_side_no_worker_picks_up_fails_the_battle_after_the_timeout(
    client: TestClient, session: Session, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import config

    monkeypatch.setenv("PREFLAB_REDIS_URL", redis_url)  # a queue, but no worker listening on it
    config.get_settings.cache_clear()
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    local = {"kind": "transformers", "path": "/models/nowhere", "device": "cpu"}
    create_arena(
        client,
        admin,
        [{"name": "local", "provider": local}, {"name": "fixed", "provider": replay({PROMPT: "ok"})}],
        answer_timeout_s=1.0,
    )
    try:
        _, events = battle_to_end(client, voter, prompt=PROMPT)
    finally:
        import redis

        redis.Redis.from_url(redis_url).delete("cpu")  # the task nobody took must not reach a later worker
    assert events[-1][0] == "failed" and "no worker started" in events[-1][1]["message"]
