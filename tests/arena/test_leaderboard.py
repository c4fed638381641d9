"""The arena's leaderboard: counts aggregated in SQL, snapshots with intervals, categories, style
control, what is left out (identity leaks, excluded voters, too few battles), the JSON/CSV endpoints,
battle exports in FastChat's layout read back by `preflab leaderboard`, and the anomalous-voter check."""

import csv
import io
import json
import random
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.arena.models import ArenaVoter, Battle, VoterStatus
from app.auth.models import Role
from tests.api_helpers import bearer
from tests.arena.helpers import create_arena, replay, seed_votes
from tests.conftest import run_cli
from workers.tasks.arena import refresh_leaderboard

STRENGTH = {"strong": 1.5, "middle": 0.0, "weak": -1.5}


def simulated_votes(n: int, *, seed: int = 0, voters: int = 20) -> list[tuple[str, str, str, str]]:
    rng = random.Random(seed)
    names = list(STRENGTH)
    votes = []
    for k in range(n):
        a, b = rng.sample(names, 2)
        p = 1 / (1 + 10 ** (-(STRENGTH[a] - STRENGTH[b]) / 1.5))
        r = rng.random()
        winner = "tie" if r < 0.1 else "model_a" if rng.random() < p else "model_b"
        votes.append((a, b, winner, f"user:{k % voters}"))
    return votes


def make_arena(client: TestClient, session: Session, **config: object) -> dict[str, str]:
    admin = bearer(session, "admin@example.org", Role.admin)
    systems = [{"name": n, "provider": replay({"p": "x"})} for n in STRENGTH]
    create_arena(client, admin, systems, bootstrap_rounds=200, min_battles=5, **config)
    return admin


def campaign_id(session: Session) -> int:
    from app.campaigns.service import get_campaign

    found = get_campaign(session, slug="arena").id
    session.commit()  # on SQLite every transaction holds the write lock: end it before the app writes
    return found


def test_snapshots_rank_the_systems_with_intervals_and_serve_json_and_csv(
    client: TestClient, session: Session
) -> None:
    make_arena(client, session)
    seed_votes(session, slug="arena", votes=simulated_votes(600), tags=("chat",))
    assert client.get("/api/v1/arenas/arena/leaderboard").status_code == 404  # nothing computed yet
    refresh_leaderboard(campaign_id(session))

    board = client.get("/api/v1/arenas/arena/leaderboard").json()  # public by default: no login
    assert board["vote_count"] == 600 and board["counted_votes"] == 600
    names = [r["system"] for r in board["ratings"]]
    assert names == ["strong", "middle", "weak"]
    for r in board["ratings"]:
        assert r["lower"] < r["rating"] < r["upper"] and r["battles"] > 300
    assert [r["rank"] for r in board["ratings"]] == [1, 2, 3]
    assert abs(sum(r["rating"] for r in board["ratings"]) / 3 - 1000) < 1
    matrix = dict(zip(board["win_rates"]["systems"], board["win_rates"]["matrix"], strict=True))
    assert matrix["strong"][board["win_rates"]["systems"].index("weak")] > 0.8
    assert set(board["elo"]) == set(STRENGTH)

    tagged = client.get("/api/v1/arenas/arena/leaderboard", params={"category": "chat"}).json()
    assert tagged["category"] == "chat" and [r["system"] for r in tagged["ratings"]] == names
    style = client.get("/api/v1/arenas/arena/leaderboard", params={"category": "style"}).json()
    assert set(style["style_coefficients"]) >= {"length"}

    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/arenas/arena/leaderboard.csv").text)))
    assert [r["system"] for r in rows] == names and rows[0]["rank"] == "1"


def test_leaks_excluded_voters_and_thin_systems_stay_off_the_board(
    client: TestClient, session: Session
) -> None:
    admin = make_arena(client, session)
    seed_votes(session, slug="arena", votes=simulated_votes(300))
    # A voter who always picks the weaker system, and a batch of leaked votes for "weak".
    cheat = [("weak", "strong", "model_a", "user:cheat")] * 40
    seed_votes(session, slug="arena", votes=cheat)
    leaked = [("weak", "strong", "model_a", f"user:{k}") for k in range(60)]
    seed_votes(session, slug="arena", votes=leaked)
    session.execute(
        update(Battle)
        .where(Battle.voter_key.in_([f"user:{k}" for k in range(60)]), Battle.id > 340)
        .values(identity_leak=True)
    )
    session.commit()

    refresh_leaderboard(campaign_id(session))
    flagged = session.scalar(select(ArenaVoter).where(ArenaVoter.voter_key == "user:cheat"))
    assert flagged is not None and flagged.status == VoterStatus.flagged
    session.commit()
    before = client.get("/api/v1/arenas/arena/leaderboard").json()
    assert before["counted_votes"] == 340  # the leaked 60 are not counted

    voters = client.get("/api/v1/arenas/arena/voters", headers=admin).json()
    assert voters[0]["voter_key"] == "user:cheat" and voters[0]["status"] == "flagged"
    r = client.post("/api/v1/arenas/arena/voters/user:cheat/exclude", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "excluded"
    refresh_leaderboard(campaign_id(session))
    after = client.get("/api/v1/arenas/arena/leaderboard").json()
    assert after["counted_votes"] == 300
    weak = lambda board: next(r["rating"] for r in board["ratings"] if r["system"] == "weak")  # noqa: E731
    assert weak(after) < weak(before)

    client.patch("/api/v1/arenas/arena/config", json={"min_battles": 10_000}, headers=admin)
    refresh_leaderboard(campaign_id(session))
    assert client.get("/api/v1/arenas/arena/leaderboard").json()["ratings"] == []
    assert client.post("/api/v1/arenas/arena/voters/nobody/exclude", headers=admin).status_code == 404
    assert client.post("/api/v1/arenas/arena/voters/user:cheat/ban", headers=admin).status_code == 422


def test_exports_read_back_by_the_leaderboard_command(
    client: TestClient, session: Session, cli_env: dict[str, str], tmp_path: Path
) -> None:
    admin = make_arena(client, session)
    seed_votes(session, slug="arena", votes=simulated_votes(400))
    seed_votes(session, slug="arena", votes=[("weak", "strong", "model_a", "user:leak")])
    session.execute(update(Battle).where(Battle.voter_key == "user:leak").values(identity_leak=True))
    session.commit()
    refresh_leaderboard(campaign_id(session))
    voter = bearer(session, "voter@example.org")
    assert client.get("/api/v1/arenas/arena/battles.jsonl", headers=voter).status_code == 403

    raw = client.get(
        "/api/v1/arenas/arena/battles.jsonl", params={"filtered": "false"}, headers=admin
    ).text.splitlines()
    clean = client.get("/api/v1/arenas/arena/battles.jsonl", headers=admin).text.splitlines()
    assert len(raw) == 401 and len(clean) == 400
    row = json.loads(clean[0])
    for key in (
        "model_a",
        "model_b",
        "winner",
        "judge",
        "turn",
        "anony",
        "tstamp",
        "conversation_a",
        "conversation_b",
    ):
        assert key in row
    assert row["conversation_a"][0] == {"role": "user", "content": "p"}
    assert row["conv_metadata"]["sum_assistant_a_tokens"] > 0

    battles = tmp_path / "battles.jsonl"
    battles.write_text("\n".join(clean) + "\n")
    out = tmp_path / "board.json"
    run_cli(cli_env, "leaderboard", str(battles), "--rounds", "200", "--out", str(out))
    from_cli = {s["system"]: s for s in json.loads(out.read_text())["systems"]}
    served = {r["system"]: r for r in client.get("/api/v1/arenas/arena/leaderboard").json()["ratings"]}
    for name, rating in served.items():
        assert abs(from_cli[name]["rating"] - rating["rating"]) < 0.5
