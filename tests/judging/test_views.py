"""The judges page: create a judge from the form, run it (to the job page), read its judgements."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.campaigns.models import Campaign
from app.judging.models import LMJudge
from tests.api_helpers import form_field, sign_in, wait_for_job
from tests.factories import make_user
from tests.support.openai_server import OpenAIServer


def test_the_page_creates_runs_and_shows_a_judge(
    client: TestClient,
    session: Session,
    campaign: Campaign,
    researcher: dict[str, str],
    judge_server: OpenAIServer,
) -> None:
    make_user(session, "page@example.org", Role.researcher)
    session.commit()
    sign_in(client, "page@example.org")
    page = client.get("/campaigns/demo/judges")
    assert page.status_code == 200 and "New judge" in page.text
    csrf = form_field(page.text, "csrf_token")
    fields = {"csrf_token": csrf, "name": "rule", "kind": "openai", "base_url": "ftp://x", "model": "m"}
    bad = client.post("/campaigns/demo/judges", data=fields, follow_redirects=False)
    assert bad.status_code == 422 and "base_url" in bad.text
    assert session.scalars(select(LMJudge)).all() == []
    session.rollback()  # on SQLite an open transaction holds the write lock

    fields["base_url"] = judge_server.base_url
    r = client.post("/campaigns/demo/judges", data=fields, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/campaigns/demo/judges"
    judge = session.scalars(select(LMJudge)).one()
    session.commit()
    r = client.post(
        f"/campaigns/demo/judges/{judge.public_id}/run",
        data={"csrf_token": csrf, "limit": "2"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job = wait_for_job(client, researcher, r.headers["location"].rsplit("/", 1)[1])
    assert job["status"] == "succeeded", job["error"]
    page = client.get("/campaigns/demo/judges")
    assert "Judgements (2)" in page.text and "in use, frozen" in page.text
    assert page.text.count("<td>b</td>") == 2  # the label column


def test_annotators_are_refused_the_page(client: TestClient, session: Session, campaign: Campaign) -> None:
    make_user(session, "ann@example.org")
    session.commit()
    sign_in(client, "ann@example.org")
    assert client.get("/campaigns/demo/judges").status_code == 403
