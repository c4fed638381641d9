"""Researcher pages: anonymous browsers go to the login page, annotators are refused."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api_helpers import sign_in
from tests.factories import make_user, seed_campaign


def test_research_pages_need_the_researcher_role(client: TestClient, session: Session) -> None:
    seed_campaign(session, n_items=1)
    make_user(session, "ann@example.org")
    session.commit()
    html = {"Accept": "text/html"}
    for path in ("/jobs", "/campaigns/demo/reward-models", "/campaigns/demo/generate"):
        r = client.get(path, headers=html, follow_redirects=False)
        assert r.status_code in (302, 303, 307) and "/login?next=" in r.headers["location"], path
    sign_in(client, "ann@example.org")
    for path in ("/jobs", "/campaigns/demo/reward-models", "/campaigns/demo/generate"):
        r = client.get(path, headers=html)
        assert r.status_code == 403 and "researcher role" in r.text, path
