from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role
from tests.api_helpers import bearer
from tests.factories import item_lines


def test_import_over_http_is_atomic_and_reports(client: TestClient, session: Session) -> None:
    res = bearer(session, "res@example.org", Role.researcher)
    client.post("/api/v1/campaigns", json={"slug": "c", "name": "C"}, headers=res)
    lines = item_lines(4)
    bad = [*lines[:3], '{"id": "x"}']
    r = client.post("/api/v1/campaigns/c/items", content="\n".join(bad), headers=res)
    assert r.status_code == 422 and r.json()["detail"].startswith("line 4:")
    assert client.get("/api/v1/campaigns/c/progress", headers=res).json()["items"] == 0
    r = client.post("/api/v1/campaigns/c/items", content="\n".join(lines), headers=res)
    assert r.status_code == 201 and r.json()["items_created"] == 4
    r = client.post("/api/v1/campaigns/c/items", content="\n".join(lines), headers=res)
    assert r.json()["items_created"] == 0 and r.json()["items_skipped"] == 4
    r = client.post("/api/v1/campaigns/c/items", content=b"\xff\xfe", headers=res)
    assert r.status_code == 422 and "UTF-8" in r.json()["detail"]
    r = client.post("/api/v1/campaigns/c/items?format=yaml", content="\n".join(lines), headers=res)
    assert r.status_code == 422
    assert (
        client.post("/api/v1/campaigns/nope/items", content="\n".join(lines), headers=res).status_code == 404
    )
