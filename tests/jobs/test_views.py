"""Researcher pages: anonymous browsers go to the login page, annotators are refused."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_user, seed_campaign


def _login(client: TestClient, email: str) -> None:
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


def test_research_pages_need_the_researcher_role(client: TestClient, session: Session) -> None:
    seed_campaign(session, n_items=1)
    make_user(session, "ann@example.org")
    session.commit()
    html = {"Accept": "text/html"}
    for path in ("/jobs", "/campaigns/demo/reward-models", "/campaigns/demo/generate"):
        r = client.get(path, headers=html, follow_redirects=False)
        assert r.status_code in (302, 303, 307) and "/login?next=" in r.headers["location"], path
    _login(client, "ann@example.org")
    for path in ("/jobs", "/campaigns/demo/reward-models", "/campaigns/demo/generate"):
        r = client.get(path, headers=html)
        assert r.status_code == 403 and "researcher role" in r.text, path
