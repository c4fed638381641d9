"""Releases API and page: status codes, downloads, role checks, bad input, the Hub without a token."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.releases import service
from app.releases.models import Release
from tests.api_helpers import bearer, form_field, sign_in
from tests.factories import make_user
from tests.releases.helpers import three_voters


@pytest.fixture
def researcher(session: Session) -> dict[str, str]:
    return bearer(session, "res@example.org", Role.researcher)


def _count(session: Session) -> int:
    session.commit()  # a fresh read after the server's commits
    return session.scalar(select(func.count()).select_from(Release)) or 0


def test_create_list_read_and_download(
    client: TestClient, session: Session, researcher: dict[str, str]
) -> None:
    three_voters(session)
    body = {"formats": ["pairwise", "distributions"], "filters": {"annotator_kind": "human"}}
    r = client.post("/api/v1/campaigns/demo/releases", json=body, headers=researcher)
    assert r.status_code == 201, r.text
    release = r.json()
    assert release["version"] == 1 and release["vote_count"] == 9 and release["campaign"] == "demo"
    assert release["created_by"] == "res@example.org" and len(release["content_hash"]) == 64
    again = client.post("/api/v1/campaigns/demo/releases", json=body, headers=researcher)
    assert again.status_code == 200 and again.json()["id"] == release["id"]
    listed = client.get("/api/v1/campaigns/demo/releases", headers=researcher).json()
    assert [x["id"] for x in listed] == [release["id"]]
    one = client.get(f"/api/v1/releases/{release['id']}", headers=researcher).json()
    assert one["files"] == release["files"]
    stored = session.scalars(select(Release)).one()
    folder = service.release_folder(
        campaign=service.release_campaign(session, release=stored), release=stored
    )
    session.commit()  # SQLite: let the server write
    types = {
        "pairwise.parquet": "application/vnd.apache.parquet",
        "pairwise.jsonl": "application/x-ndjson",
        "README.md": "text/markdown; charset=utf-8",
    }
    for name, mime in types.items():
        file = next(f for f in release["files"] if f["name"] == name)
        got = client.get(file["url"], headers=researcher)
        assert got.status_code == 200 and got.headers["content-type"] == mime
        assert got.content == (folder / name).read_bytes() and len(got.content) == file["bytes"]
    missing = client.get(f"/api/v1/releases/{release['id']}/files/..%2Fpreflab.db", headers=researcher)
    assert missing.status_code == 404
    assert (
        client.get(f"/api/v1/releases/{release['id']}/files/other.csv", headers=researcher).status_code == 404
    )
    assert client.get("/api/v1/releases/rel_nope", headers=researcher).status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"formats": ["xml"]}, 422),
        ({"formats": ["rankings"]}, 422),
        ({"formats": []}, 422),
        ({"formats": ["pairwise"], "filters": {"annotator": "x"}}, 422),
        ({"formats": ["pairwise"], "filters": {"annotator_kind": "robot"}}, 422),
        ({"formats": ["pairwise"], "filters": {"annotator_weights": "magic"}}, 422),
    ],
)
def test_bad_requests_store_nothing(
    client: TestClient, session: Session, researcher: dict[str, str], body: dict, status: int
) -> None:
    three_voters(session)
    r = client.post("/api/v1/campaigns/demo/releases", json=body, headers=researcher)
    assert r.status_code == status, r.text
    assert r.json()["detail"]
    assert _count(session) == 0 and not service.releases_root().exists()


def test_unknown_campaign_and_roles(client: TestClient, session: Session, researcher: dict[str, str]) -> None:
    three_voters(session)
    r = client.post("/api/v1/campaigns/nope/releases", json={"formats": ["pairwise"]}, headers=researcher)
    assert r.status_code == 404
    annotator = bearer(session, "ann2@example.org")
    r = client.post("/api/v1/campaigns/demo/releases", json={"formats": ["pairwise"]}, headers=annotator)
    assert r.status_code == 403
    made = client.post("/api/v1/campaigns/demo/releases", json={"formats": ["pairwise"]}, headers=researcher)
    release = made.json()
    for url in (
        "/api/v1/campaigns/demo/releases",
        f"/api/v1/releases/{release['id']}",
        release["files"][0]["url"],
    ):
        assert client.get(url, headers=annotator).status_code == 403
        assert client.get(url).status_code == 401
    assert _count(session) == 1


def test_push_without_a_hub_token_is_refused(
    client: TestClient, session: Session, researcher: dict[str, str]
) -> None:
    three_voters(session)
    release = client.post(
        "/api/v1/campaigns/demo/releases", json={"formats": ["pairwise"]}, headers=researcher
    )
    url = f"/api/v1/releases/{release.json()['id']}/push"
    r = client.post(url, json={"repo_id": "someone/demo-prefs", "private": True}, headers=researcher)
    assert r.status_code == 409 and "PREFLAB_HF_TOKEN" in r.json()["detail"]
    assert client.post(url, json={"repo_id": "no slash"}, headers=researcher).status_code == 422
    session.commit()
    assert session.scalars(select(Release)).one().hub_repo is None


def test_releases_page_lists_and_makes_releases(client: TestClient, session: Session) -> None:
    three_voters(session)
    make_user(session, "page@example.org", Role.researcher)
    session.commit()
    sign_in(client, "page@example.org")
    page = client.get("/campaigns/demo/releases")
    assert page.status_code == 200 and "No release yet" in page.text and 'value="distributions"' in page.text
    token = form_field(page.text, "csrf_token")
    r = client.post(
        "/campaigns/demo/releases",
        data={"csrf_token": token, "formats": ["pairwise", "votes"], "annotator_kind": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/campaigns/demo/releases").text
    release = session.scalars(select(Release)).one()
    session.commit()
    assert "v1" in page and release.content_hash[:12] in page
    assert f"/api/v1/releases/{release.public_id}/files/votes.parquet" in page
    no_csrf = client.post("/campaigns/demo/releases", data={"formats": ["pairwise"]}, follow_redirects=False)
    assert no_csrf.status_code == 403
    none = client.post("/campaigns/demo/releases", data={"csrf_token": token}, follow_redirects=False)
    assert none.status_code == 422 and _count(session) == 1


def test_annotators_cannot_see_the_page(client: TestClient, session: Session) -> None:
    three_voters(session)
    sign_in(client, "demo-u0@example.org")
    assert client.get("/campaigns/demo/releases").status_code == 403
