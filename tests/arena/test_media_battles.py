"""Battles whose answers are files: two `command` systems write audio (a real program per side), the
files go to the media store, the voter plays them through URLs that name no system, byte ranges let a
player seek, and the leaderboard controls for duration."""

import json
import random
import sys

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.arena.models import BattleAnswer
from app.auth.models import Role
from tests.api_helpers import bearer
from tests.arena.helpers import battle_to_end, create_arena, replay, seed_votes
from workers.tasks.arena import refresh_leaderboard

# Writes a mono 8 kHz WAV of silence, as long as its second argument says (seconds).
WRITE_WAV = (
    "import sys, wave\n"
    "with wave.open(sys.argv[1], 'wb') as w:\n"
    "    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)\n"
    "    w.writeframes(bytes(2 * int(8000 * float(sys.argv[2]))))\n"
)
SECONDS = {"long-voice": 1.5, "short-voice": 0.5}


def voice(name: str) -> dict:
    provider = {
        "kind": "command",
        "argv": [sys.executable, "-c", WRITE_WAV, "{output}", str(SECONDS[name])],
        "output_suffix": ".wav",
        "media_type": "audio/wav",
        "timeout_s": 30,
    }
    return {"name": name, "vendor": "Voices Ltd", "provider": provider}


def test_audio_answers_are_stored_played_blind_and_exported(client: TestClient, session: Session) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    other = bearer(session, "other@example.org")
    create_arena(client, admin, [voice("long-voice"), voice("short-voice")])

    battle, events = battle_to_end(client, voter, prompt="Read this sentence aloud.")
    assert events[-1][0] == "done", events
    assert battle["status"] == "ready" and battle["model_a"] is None
    # Blind: nothing the voter receives before the vote names a system or its vendor.
    before_vote = json.dumps(battle) + json.dumps(events)
    assert not any(word in before_vote for word in ("long-voice", "short-voice", "Voices"))
    media = {a["side"]: a["media"] for a in battle["answers"]}
    assert {m["mime"] for m in media.values()} == {"audio/wav"}

    got = client.get(media["a"]["url"], headers=voter)
    assert got.status_code == 200 and got.content[:4] == b"RIFF"
    assert got.headers["content-type"] == "audio/wav" and got.headers["accept-ranges"] == "bytes"
    part = client.get(media["b"]["url"], headers={**voter, "Range": "bytes=8-11"})
    assert part.status_code == 206 and part.content == b"WAVE"
    assert client.get(media["a"]["url"], headers=other).status_code == 403
    missing = media["a"]["url"].replace("/answers/1/", "/answers/2/")
    assert client.get(missing, headers=voter).status_code == 404

    page = client.get(f"/arena/arena/battles/{battle['id']}", headers=voter)
    assert page.status_code == 200
    assert f'<audio controls preload="metadata" src="{media["a"]["url"]}"' in page.text
    assert "long-voice" not in page.text and "short-voice" not in page.text

    vote = client.post(
        f"/api/v1/arenas/arena/battles/{battle['id']}/vote", json={"winner": "a"}, headers=voter
    )
    assert vote.status_code == 201, vote.text
    revealed = client.get(f"/api/v1/arenas/arena/battles/{battle['id']}", headers=voter).json()
    durations = {
        a.side: a.meta["style"]["duration"]
        for a in session.scalars(select(BattleAnswer).where(BattleAnswer.media_id.is_not(None)))
    }
    session.commit()  # on SQLite a reading transaction would hold the lock the export needs
    assert {revealed["model_a"]: durations["a"], revealed["model_b"]: durations["b"]} == SECONDS

    rows = [
        json.loads(line)
        for line in client.get("/api/v1/arenas/arena/battles.jsonl", headers=admin).text.splitlines()
    ]
    assert len(rows) == 1
    row = rows[0]
    reply = row["conversation_a"][1]
    assert reply["media"]["mime"] == "audio/wav" and reply["media"]["duration_s"] == SECONDS[row["model_a"]]
    assert row["conv_metadata"]["duration_a"] == SECONDS[row["model_a"]]


def test_a_file_the_store_refuses_fails_the_battle_with_a_message(
    client: TestClient, session: Session
) -> None:
    admin = bearer(session, "admin@example.org", Role.admin)
    voter = bearer(session, "voter@example.org")
    not_audio = {
        "kind": "command",
        "argv": [sys.executable, "-c", "import sys; open(sys.argv[1], 'w').write('plain text')", "{output}"],
        "output_suffix": ".wav",
        "media_type": "audio/wav",
    }
    create_arena(
        client,
        admin,
        [{"name": "liar", "provider": not_audio}, {"name": "fine", "provider": replay({"Sing.": "La la."})}],
    )
    battle, events = battle_to_end(client, voter, prompt="Sing.")
    assert events[-1][0] == "failed" and battle["status"] == "failed"
    errors = {a["side"]: a["error"] for a in battle["answers"] if a["error"]}
    assert len(errors) == 1 and "the model's file was refused" in next(iter(errors.values()))
    assert "not a media type Preflab accepts" in next(iter(errors.values()))


def test_the_leaderboard_controls_for_duration(client: TestClient, session: Session) -> None:
    """Voters here like longer clips whoever made them; style control finds the duration effect and
    leaves text features out, since no answer's text differs."""
    admin = bearer(session, "admin@example.org", Role.admin)
    systems = [{"name": n, "provider": replay({"p": "x"})} for n in ("alpha", "bravo", "delta")]
    create_arena(client, admin, systems, bootstrap_rounds=50, min_battles=1)
    rng = random.Random(3)
    plan = []
    for k in range(400):
        a, b = rng.sample(["alpha", "bravo", "delta"], 2)
        seconds = {"a": rng.uniform(1, 10), "b": rng.uniform(1, 10)}
        plan.append(
            (a, b, "model_a" if seconds["a"] > seconds["b"] else "model_b", f"user:{k % 30}", seconds)
        )
    seed_votes(session, slug="arena", votes=[p[:4] for p in plan])
    answers = session.scalars(select(BattleAnswer).order_by(BattleAnswer.battle_id, BattleAnswer.side)).all()
    for answer, (_, _, _, _, seconds) in zip(answers[::2], plan, strict=True):
        answer.meta = {"style": {"length": 3.0, "duration": seconds["a"]}}
    for answer, (_, _, _, _, seconds) in zip(answers[1::2], plan, strict=True):
        answer.meta = {"style": {"length": 3.0, "duration": seconds["b"]}}
    session.commit()

    from app.campaigns.service import get_campaign

    campaign_id = get_campaign(session, slug="arena").id
    session.commit()
    refresh_leaderboard(campaign_id)
    style = client.get("/api/v1/arenas/arena/leaderboard", params={"category": "style"}).json()
    assert list(style["style_coefficients"]) == ["duration"]
    assert style["style_coefficients"]["duration"] > 1
