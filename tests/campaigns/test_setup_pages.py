"""The researcher's campaign pages: a new campaign of any kind, rubric versions, importing a file."""

import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, TaskKind
from app.items.models import Comparison
from app.tasks.models import Rubric
from tests.api_helpers import bearer, form_field, sign_in
from tests.factories import make_user


def _signed_in_researcher(client: TestClient, session: Session) -> str:
    make_user(session, "res@example.org", role="researcher")
    session.commit()
    sign_in(client, "res@example.org")
    return form_field(client.get("/campaigns/new").text, "csrf_token")


def test_a_researcher_creates_a_rating_campaign_with_its_own_rubric(
    client: TestClient, session: Session
) -> None:
    csrf = _signed_in_researcher(client, session)
    fields = {
        "csrf_token": csrf,
        "slug": "rated",
        "name": "Rated",
        "task_kind": "rating",
        "modality": "text",
        "overlap": "2",
        "rate": "pair",
        "aspect-0-name": "clarity",
        "aspect-0-description": "Easy to follow?",
        "aspect-0-min": "1",
        "aspect-0-max": "5",
        "aspect-0-anchors": "1=muddled; 5=crystal clear",
        "aspect-1-name": "",
    }
    r = client.post("/campaigns/new", data=fields, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/campaigns/rated/setup"
    campaign = session.scalars(select(Campaign).where(Campaign.slug == "rated")).one()
    assert campaign.task_kind == TaskKind.rating and campaign.overlap == 2
    assert campaign.task_config == {"rate": "pair"}
    rubric = session.scalars(select(Rubric)).one()
    assert rubric.aspects == [
        {
            "name": "clarity",
            "description": "Easy to follow?",
            "min": 1,
            "max": 5,
            "anchors": {"1": "muddled", "5": "crystal clear"},
        }
    ]
    session.rollback()

    page = client.get("/campaigns/rated/setup")
    assert page.status_code == 200 and "Version 1" in page.text and "crystal clear" in page.text


def test_bad_forms_are_shown_again_with_the_reason(client: TestClient, session: Session) -> None:
    csrf = _signed_in_researcher(client, session)
    base = {"csrf_token": csrf, "slug": "x", "name": "X", "task_kind": "segment"}
    r = client.post("/campaigns/new", data=base | {"window_s": "-2"})
    assert r.status_code == 422 and "window_s" in r.text and 'value="X"' in r.text
    r = client.post("/campaigns/new", data=base | {"aspect-0-name": "q", "aspect-0-anchors": "high"})
    assert r.status_code == 422 and "0=very low" in r.text
    r = client.post("/campaigns/new", data=base | {"task_kind": "sorting"})
    assert r.status_code == 422
    assert client.post("/campaigns/new", data=base, follow_redirects=False).status_code == 303
    r = client.post("/campaigns/new", data=base)
    assert r.status_code == 409 and "already exists" in r.text
    assert session.scalar(select(Campaign.id).where(Campaign.slug == "x")) is not None


def test_the_setup_page_versions_the_rubric_and_imports_a_file(client: TestClient, session: Session) -> None:
    csrf = _signed_in_researcher(client, session)
    client.post(
        "/campaigns/new",
        data={"csrf_token": csrf, "slug": "r", "name": "R", "task_kind": "rating"},
        follow_redirects=False,
    )
    lines = "\n".join(
        json.dumps({"id": f"q{i}", "prompt": "Say hi", "candidates": [{"system": "s", "content": f"hi {i}"}]})
        for i in range(3)
    )
    r = client.post(
        "/campaigns/r/setup/import",
        data={"csrf_token": csrf, "fmt": "preflab"},
        files={"file": ("items.jsonl", lines.encode(), "application/json")},
    )
    assert r.status_code == 200 and "3 new items" in r.text
    r = client.post(
        "/campaigns/r/setup/import",
        data={"csrf_token": csrf, "fmt": "preflab"},
        files={"file": ("bad.jsonl", b'{"id": "z"}', "application/json")},
    )
    assert r.status_code == 422 and "line 1" in r.text
    assert session.scalar(select(Comparison.id).where(Comparison.item.has(external_id="z"))) is None
    session.rollback()

    rubric_fields = {"csrf_token": csrf, "aspect-0-name": "warmth", "aspect-0-min": "0", "aspect-0-max": "2"}
    r = client.post("/campaigns/r/setup/rubric", data=rubric_fields, follow_redirects=False)
    assert r.status_code == 303
    session.rollback()
    assert [(r.version, len(r.aspects)) for r in session.scalars(select(Rubric))] == [
        (1, 1)
    ]  # unused: edited
    session.rollback()

    annotator = bearer(session, "ann@example.org")
    task = client.get("/api/v1/campaigns/r/next", headers=annotator).json()
    vote = client.post(
        f"/api/v1/assignments/{task['assignment_id']}/vote",
        json={"answer": {"ratings": {"a": {"warmth": 2}}}},
        headers=annotator,
    )
    assert vote.status_code == 201
    r = client.post(
        "/campaigns/r/setup/rubric", data=rubric_fields | {"aspect-0-max": "3"}, follow_redirects=False
    )
    assert r.status_code == 303
    session.rollback()
    assert [r.version for r in session.scalars(select(Rubric).order_by(Rubric.version))] == [1, 2]
    session.rollback()
    page = client.get("/campaigns/r/setup").text
    assert "used by votes, frozen" in page and "Version 2" in page


def test_annotators_cannot_open_the_setup_pages(client: TestClient, session: Session) -> None:
    make_user(session, "ann@example.org")
    session.commit()
    sign_in(client, "ann@example.org")
    assert client.get("/campaigns/new").status_code == 403


def test_the_setup_page_switches_selection_on(client: TestClient, session: Session) -> None:
    csrf = _signed_in_researcher(client, session)
    client.post("/campaigns/new", data={"csrf_token": csrf, "slug": "p", "name": "P"}, follow_redirects=False)
    page = client.get("/campaigns/p/setup").text
    assert "Save selection" in page and 'value="ordered" selected' in page
    fields = {"csrf_token": csrf, "strategy": "active", "uniform_fraction": "0.25", "min_per_pair": "1"}
    r = client.post("/campaigns/p/setup/selection", data=fields, follow_redirects=False)
    assert r.status_code == 303
    campaign = session.scalars(select(Campaign).where(Campaign.slug == "p")).one()
    assert campaign.selection == {"strategy": "active", "uniform_fraction": 0.25, "min_per_pair": 1}
    session.rollback()
    r = client.post("/campaigns/p/setup/selection", data=fields | {"uniform_fraction": "2"})
    assert r.status_code == 422 and "uniform_fraction" in r.text
    assert 'value="active" selected' in client.get("/campaigns/p/setup").text
