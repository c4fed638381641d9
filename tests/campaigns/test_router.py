from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role
from tests.api_helpers import bearer
from tests.factories import item_lines

BODY = {
    "slug": "helpful",
    "name": "Helpfulness",
    "task_kind": "pairwise",
    "modality": "text",
    "overlap": 2,
    "guidelines": "Pick the more helpful answer.",
    "reveal_identities": True,
}


def test_campaign_crud(client: TestClient, session: Session) -> None:
    res = bearer(session, "res@example.org", Role.researcher)
    ann = bearer(session, "ann@example.org")
    r = client.post("/api/v1/campaigns", json=BODY, headers=res)
    assert r.status_code == 201 and r.json()["status"] == "active" and r.json()["overlap"] == 2
    assert client.post("/api/v1/campaigns", json=BODY, headers=res).status_code == 409
    draft = {**BODY, "slug": "draft-one", "status": "draft"}
    assert client.post("/api/v1/campaigns", json=draft, headers=res).json()["status"] == "draft"
    assert [c["slug"] for c in client.get("/api/v1/campaigns", headers=ann).json()] == ["helpful"]
    assert len(client.get("/api/v1/campaigns", headers=res).json()) == 2
    assert client.get("/api/v1/campaigns/draft-one", headers=ann).status_code == 404
    r = client.patch("/api/v1/campaigns/helpful", json={"status": "paused", "guidelines": "New"}, headers=res)
    assert r.status_code == 200 and r.json()["status"] == "paused" and r.json()["guidelines"] == "New"
    assert client.get("/api/v1/campaigns/helpful/next", headers=ann).status_code == 409
    assert client.delete("/api/v1/campaigns/draft-one", headers=res).status_code == 204
    assert client.get("/api/v1/campaigns/draft-one", headers=res).status_code == 404


def test_invalid_campaigns_get_422_with_the_field(client: TestClient, session: Session) -> None:
    res = bearer(session, "res@example.org", Role.researcher)
    for bad, field in (
        ({"slug": "Bad Slug!"}, "slug"),
        ({"overlap": 0}, "overlap"),
        ({"task_kind": "telepathy"}, "task_kind"),
        ({"surprise": 1}, "surprise"),
    ):
        r = client.post("/api/v1/campaigns", json={**BODY, **bad}, headers=res)
        assert r.status_code == 422, r.text
        assert field in {e["field"] for e in r.json()["detail"]}


def test_changing_overlap_moves_open_slots(client: TestClient, session: Session) -> None:
    res = bearer(session, "res@example.org", Role.researcher)
    ann = bearer(session, "ann@example.org")
    client.post("/api/v1/campaigns", json=BODY, headers=res)
    client.post("/api/v1/campaigns/helpful/items", content="\n".join(item_lines(2)), headers=res)
    assert client.patch("/api/v1/campaigns/helpful", json={"overlap": 3}, headers=res).status_code == 200
    task = client.get("/api/v1/campaigns/helpful/next", headers=ann).json()
    client.post(f"/api/v1/assignments/{task['assignment_id']}/vote", json={"outcome": "a"}, headers=ann)
    assert client.patch("/api/v1/campaigns/helpful", json={"overlap": 1}, headers=res).status_code == 200
    assert client.get("/api/v1/campaigns/helpful/progress", headers=res).json() == {
        "items": 2,
        "comparisons": 2,
        "votes": 1,
        "votes_needed": 2,
    }
    assert client.delete("/api/v1/campaigns/helpful", headers=res).status_code == 409
