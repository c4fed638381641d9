"""The annotator loop over HTTP: the contract scripts rely on, errors, and blindness."""

import json
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role
from tests.api_helpers import bearer
from tests.factories import SYSTEMS, item_lines


def _setup(client: TestClient, session: Session, *, overlap: int = 1, n: int = 3, **extra: object) -> dict:
    admin = bearer(session, "admin@example.org", Role.admin)
    body = {
        "slug": "c1",
        "name": "C1",
        "task_kind": "pairwise",
        "modality": "text",
        "overlap": overlap,
        "guidelines": "Pick the better one.",
        "reveal_identities": False,
        **extra,
    }
    r = client.post("/api/v1/campaigns", json=body, headers=admin)
    assert r.status_code == 201, r.text
    if n:
        r = client.post("/api/v1/campaigns/c1/items", content="\n".join(item_lines(n)) + "\n", headers=admin)
        assert r.status_code == 201, r.text
        assert r.json()["comparisons_created"] == n
    return admin


def _vote(client: TestClient, headers: dict, assignment_id: str, payload: dict, key: str | None = None):
    h = {**headers, "Idempotency-Key": key or uuid.uuid4().hex}
    return client.post(f"/api/v1/assignments/{assignment_id}/vote", json=payload, headers=h)


def test_next_and_vote_follow_the_contract(client: TestClient, session: Session) -> None:
    _setup(client, session)
    ann = bearer(session, "ann@example.org")
    r = client.get("/api/v1/campaigns/c1/next", headers=ann)
    assert r.status_code == 200
    task = r.json()
    assert set(task) >= {"assignment_id", "prompt", "candidates"}
    assert [set(c) for c in task["candidates"]] == [{"id", "content", "media"}] * 2
    assert [c["media"] for c in task["candidates"]] == [[], []]  # text candidates
    v1 = _vote(client, ann, task["assignment_id"], {"outcome": "a", "strength": 2, "rationale": "ok"}, "k")
    assert v1.status_code == 201 and v1.json()["winner"] == task["candidates"][0]["id"]
    v2 = _vote(client, ann, task["assignment_id"], {"outcome": "a", "strength": 2, "rationale": "ok"}, "k")
    assert v2.status_code == 200 and v2.json()["id"] == v1.json()["id"]
    for _ in range(2):
        t = client.get("/api/v1/campaigns/c1/next", headers=ann).json()
        assert _vote(client, ann, t["assignment_id"], {"outcome": "both_bad"}).status_code == 201
    assert client.get("/api/v1/campaigns/c1/next", headers=ann).status_code == 204


def test_nothing_an_annotator_receives_names_a_system(client: TestClient, session: Session) -> None:
    _setup(client, session, n=4)
    ann = bearer(session, "ann@example.org")
    seen = []
    while (r := client.get("/api/v1/campaigns/c1/next", headers=ann)).status_code == 200:
        seen.append(r.text + json.dumps(dict(r.headers)))
        v = _vote(client, ann, r.json()["assignment_id"], {"outcome": "b"})
        seen.append(v.text + json.dumps(dict(v.headers)) + str(v.url))
    assert len(seen) == 8
    assert not [s for s in seen for system in SYSTEMS if system in s]


def test_reveal_after_the_vote_only_when_the_campaign_says_so(client: TestClient, session: Session) -> None:
    _setup(client, session, reveal_identities=True)
    ann = bearer(session, "ann@example.org")
    task = client.get("/api/v1/campaigns/c1/next", headers=ann).json()
    assert not any(s in json.dumps(task) for s in SYSTEMS)
    vote = _vote(client, ann, task["assignment_id"], {"outcome": "tie"}).json()
    assert set(vote["revealed"].values()) == set(SYSTEMS[:2])


def test_errors_are_clear_and_never_500(client: TestClient, session: Session) -> None:
    _setup(client, session)
    ann = bearer(session, "ann@example.org")
    other = bearer(session, "other@example.org")
    assert client.get("/api/v1/campaigns/c1/next").status_code == 401
    assert (
        client.get("/api/v1/campaigns/c1/next", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    r = client.get("/api/v1/campaigns/missing/next", headers=ann)
    assert r.status_code == 404 and "missing" in r.json()["detail"]
    task = client.get("/api/v1/campaigns/c1/next", headers=ann).json()
    r = _vote(client, ann, task["assignment_id"], {"outcome": "left-ish", "strength": 99})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["detail"]} == {"outcome", "strength"}
    assert _vote(client, other, task["assignment_id"], {"outcome": "a"}).status_code == 403
    assert _vote(client, ann, "no-such-assignment", {"outcome": "a"}).status_code == 404
    r = client.post(
        f"/api/v1/assignments/{task['assignment_id']}/vote",
        content="{not json",
        headers={**ann, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    # Annotators cannot create campaigns, import, or read votes and exports.
    assert client.post("/api/v1/campaigns", json={"slug": "x", "name": "x"}, headers=ann).status_code == 403
    assert client.post("/api/v1/campaigns/c1/items", content="{}", headers=ann).status_code == 403
    assert client.get("/api/v1/campaigns/c1/votes", headers=ann).status_code == 403
    assert client.get("/api/v1/campaigns/c1/export", headers=ann).status_code == 403


def test_expired_lease_answers_409_with_a_message(client: TestClient, session: Session) -> None:
    admin = _setup(client, session)
    ann = bearer(session, "ann@example.org")
    task = client.get("/api/v1/campaigns/c1/next", headers=ann).json()
    from sqlalchemy import update

    from app.db import utcnow
    from app.voting.models import Assignment

    session.execute(update(Assignment).values(lease_expires_at=utcnow()))
    session.commit()
    r = _vote(client, ann, task["assignment_id"], {"outcome": "a"})
    assert r.status_code == 409 and "expired" in r.json()["detail"]
    assert client.get("/api/v1/campaigns/c1/votes", headers=admin).json() == []


def test_votes_listing_pages_in_storage_order(client: TestClient, session: Session) -> None:
    admin = _setup(client, session, n=3)
    ann = bearer(session, "ann@example.org")
    for outcome in ("a", "tie", "b"):
        t = client.get("/api/v1/campaigns/c1/next", headers=ann).json()
        _vote(client, ann, t["assignment_id"], {"outcome": outcome, "rationale": outcome})
    page1 = client.get("/api/v1/campaigns/c1/votes", params={"limit": 2}, headers=admin).json()
    page2 = client.get("/api/v1/campaigns/c1/votes", params={"after": page1[-1]["id"]}, headers=admin).json()
    assert [v["rationale"] for v in page1 + page2] == ["a", "tie", "b"]
    assert page1[0]["winner_system"] in SYSTEMS and page1[1]["winner_system"] is None
    r = client.get("/api/v1/campaigns/c1/votes", params={"after": "bogus"}, headers=admin)
    assert r.status_code == 404


def test_higher_priority_items_are_handed_out_first_then_import_order(
    client: TestClient, session: Session
) -> None:
    admin = _setup(client, session, n=0)
    lines = [json.loads(line) for line in item_lines(4, prefix="p")]
    for line, priority in zip(lines, [0, 5, -1, 5], strict=True):
        line["priority"] = priority
    body = "\n".join(json.dumps(line) for line in lines) + "\n"
    assert client.post("/api/v1/campaigns/c1/items", content=body, headers=admin).status_code == 201
    ann = bearer(session, "ann@example.org")
    prompts = []
    while (r := client.get("/api/v1/campaigns/c1/next", headers=ann)).status_code == 200:
        task = r.json()
        prompts.append(task["prompt"].split(":")[0])
        assert _vote(client, ann, task["assignment_id"], {"outcome": "tie"}).status_code == 201
    assert prompts == ["Question 1", "Question 3", "Question 0", "Question 2"]
    bad = json.dumps({**lines[0], "id": "big", "priority": 10**9}) + "\n"
    r = client.post("/api/v1/campaigns/c1/items", content=bad, headers=admin)
    assert r.status_code == 422 and "priority" in r.text
