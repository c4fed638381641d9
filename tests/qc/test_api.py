"""Quality control over HTTP: settings, annotators, pause and resume, the task page, blindness, and
the Postgres fast path stepping aside."""

import uuid
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.db import utcnow
from app.items.models import Comparison, Item
from app.qc.models import CampaignAnnotator
from app.voting import fast_path
from app.voting.models import Assignment
from tests.api_helpers import bearer, form_field, sign_in
from tests.conftest import BACKEND
from tests.factories import make_token, make_user
from tests.qc.helpers import WORSE, pair_line, system_of


def _setup(
    client: TestClient, session: Session, *, data: int, gold: int, **quality: object
) -> dict[str, str]:
    researcher = bearer(session, "res@example.org", Role.researcher)
    r = client.post("/api/v1/campaigns", json={"slug": "qc", "name": "QC"}, headers=researcher)
    assert r.status_code == 201, r.text
    lines = [pair_line(f"d{i}") for i in range(data)] + [pair_line(f"g{i}", "gold") for i in range(gold)]
    r = client.post("/api/v1/campaigns/qc/items", content="\n".join(lines) + "\n", headers=researcher)
    assert r.status_code == 201, r.text
    if quality:
        r = client.put("/api/v1/campaigns/qc/quality-control", json=quality, headers=researcher)
        assert r.status_code == 200, r.text
    return researcher


def _is_gold(session: Session, assignment_id: str) -> bool:
    session.commit()
    role = session.scalar(
        select(Item.role)
        .join(Comparison, Comparison.item_id == Item.id)
        .join(Assignment, Assignment.comparison_id == Comparison.id)
        .where(Assignment.public_id == assignment_id)
    )
    session.commit()  # SQLite: every transaction holds the write lock the server needs
    return role == "gold"


def _vote(client: TestClient, headers: dict[str, str], task: dict, outcome: str) -> None:
    h = headers | {"Idempotency-Key": uuid.uuid4().hex}
    r = client.post(f"/api/v1/assignments/{task['assignment_id']}/vote", json={"outcome": outcome}, headers=h)
    assert r.status_code == 201, r.text


def test_settings_round_trip_and_bad_values_are_422(client: TestClient, session: Session) -> None:
    researcher = _setup(client, session, data=2, gold=3)
    r = client.get("/api/v1/campaigns/qc/quality-control", headers=researcher)
    assert r.status_code == 200
    assert r.json()["gold_items"] == 3 and r.json()["config"]["gold_rate"] == 0
    r = client.put("/api/v1/campaigns/qc/quality-control", json={"gold_rate": 1.5}, headers=researcher)
    assert r.status_code == 422
    r = client.put(
        "/api/v1/campaigns/qc/quality-control", json={"gold_rate": 0.2, "quota": 10}, headers=researcher
    )
    assert r.status_code == 200 and r.json()["config"]["quota"] == 10
    assert client.get("/api/v1/campaigns/qc", headers=researcher).json()["quality"]["gold_rate"] == 0.2
    annotator = bearer(session, "ann@example.org")
    assert client.get("/api/v1/campaigns/qc/quality-control", headers=annotator).status_code == 403
    assert client.put("/api/v1/campaigns/qc/quality-control", json={}, headers=annotator).status_code == 403


def test_gold_task_json_has_the_same_shape_as_a_data_task(client: TestClient, session: Session) -> None:
    _setup(client, session, data=20, gold=20, gold_rate=0.5)
    annotator = bearer(session, "ann@example.org")
    shapes: dict[bool, object] = {}
    for _ in range(30):
        r = client.get("/api/v1/campaigns/qc/next", headers=annotator)
        if r.status_code == 204:
            break
        task = r.json()
        gold = _is_gold(session, task["assignment_id"])
        shape = (sorted(task), sorted(task["task"]), [sorted(c) for c in task["candidates"]])
        shapes.setdefault(gold, shape)
        assert shapes[gold] == shape
        _vote(client, annotator, task, "a")
    assert set(shapes) == {True, False}
    assert shapes[True] == shapes[False]


def test_pause_gives_403_with_the_message_and_only_an_admin_resumes(
    client: TestClient, session: Session
) -> None:
    researcher = _setup(
        client,
        session,
        data=30,
        gold=10,
        gold_rate=0.5,
        min_gold_accuracy=0.8,
        min_gold_answers=2,
        pause_message="Paused for review.",
    )
    annotator = bearer(session, "ann@example.org")
    for _ in range(40):
        r = client.get("/api/v1/campaigns/qc/next", headers=annotator)
        if r.status_code != 200:
            break
        task = r.json()
        session.commit()
        worse_first = system_of(session, task["candidates"][0]["id"]) == WORSE
        session.commit()
        _vote(client, annotator, task, "a" if worse_first else "b")
    assert r.status_code == 403 and r.json()["detail"] == "Paused for review."

    rows = client.get("/api/v1/campaigns/qc/annotators", headers=researcher).json()
    (row,) = rows
    assert row["status"] == "paused" and row["gold_votes"] == 2 and row["gold_accuracy"] == 0.0
    assert row["data_votes"] == row["votes"] - 2
    pseudonym = row["pseudonym"]
    assert (
        client.post(f"/api/v1/campaigns/qc/annotators/{pseudonym}/resume", headers=researcher).status_code
        == 403
    )
    admin = bearer(session, "admin@example.org", Role.admin)
    assert client.post("/api/v1/campaigns/qc/annotators/nobody/resume", headers=admin).status_code == 404
    r = client.post(f"/api/v1/campaigns/qc/annotators/{pseudonym}/resume", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["window_gold_votes"] == 0
    assert client.get("/api/v1/campaigns/qc/next", headers=annotator).status_code == 200


def test_the_task_page_shows_the_pause_message_and_the_qc_page_resumes(
    client: TestClient, session: Session
) -> None:
    _setup(client, session, data=3, gold=1, min_gold_accuracy=0.5, min_gold_answers=1)
    user = make_user(session, "ann@example.org")
    session.commit()
    session.add(
        CampaignAnnotator(
            campaign_id=session.scalar(select(Item.campaign_id).limit(1)),
            annotator_id=user.id,
            status="paused",
            paused_reason="Paused <b>for review</b>.",
            paused_at=utcnow(),
        )
    )
    session.commit()
    sign_in(client, "ann@example.org")
    r = client.get("/campaigns/qc/task")
    assert r.status_code == 403
    assert "Paused &lt;b&gt;for review&lt;/b&gt;." in r.text and "on hold" in r.text

    client.cookies.clear()
    make_user(session, "admin@example.org", Role.admin)
    session.commit()
    sign_in(client, "admin@example.org")
    page = client.get("/campaigns/qc/quality-control")
    assert page.status_code == 200 and user.pseudonym in page.text and "Resume" in page.text
    r = client.post(
        f"/campaigns/qc/quality-control/annotators/{user.pseudonym}/resume",
        data={"csrf_token": form_field(page.text, "csrf_token")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    status = session.scalars(select(CampaignAnnotator.status)).one()
    session.commit()
    assert status == "active"


def test_the_settings_form_saves_and_refuses_bad_values(client: TestClient, session: Session) -> None:
    _setup(client, session, data=2, gold=2)
    sign_in(client, "res@example.org")
    page = client.get("/campaigns/qc/quality-control")
    assert page.status_code == 200 and "Resume" not in page.text
    token = form_field(page.text, "csrf_token")
    r = client.post(
        "/campaigns/qc/quality-control",
        data={"csrf_token": token, "gold_rate": "2", "min_gold_answers": "5"},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "gold_rate" in r.text
    r = client.post(
        "/campaigns/qc/quality-control",
        data={"csrf_token": token, "gold_rate": "0.25", "min_gold_accuracy": "0.7", "quota": "50"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    from app.campaigns.models import Campaign

    stored = session.scalars(select(Campaign.quality)).one()
    session.commit()
    assert stored == {"gold_rate": 0.25, "min_gold_accuracy": 0.7, "quota": 50}
    assert "Quality control" in client.get("/campaigns/qc/setup").text


class _Shape(HTMLParser):
    """Tags and attribute names in order, without text or attribute values."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(sorted(name for name, _ in attrs))))


def _shape(html: str) -> list[tuple[str, tuple[str, ...]]]:
    parser = _Shape()
    parser.feed(html)
    return parser.tags


def test_a_gold_task_page_has_the_same_markup_as_a_data_task(client: TestClient, session: Session) -> None:
    _setup(client, session, data=10, gold=10, gold_rate=0.5)
    make_user(session, "ann@example.org")
    session.commit()
    sign_in(client, "ann@example.org")
    shapes: dict[bool, list] = {}
    for _ in range(20):
        page = client.get("/campaigns/qc/task")
        if "assignment_id" not in page.text and "/vote" not in page.text:
            break
        session.commit()
        assignment_id = session.scalars(
            select(Assignment.public_id).where(Assignment.status == "leased")
        ).one()
        shapes.setdefault(_is_gold(session, assignment_id), _shape(page.text))
        r = client.post(
            f"/campaigns/qc/task/{assignment_id}/vote",
            data={
                "csrf_token": form_field(page.text, "csrf_token"),
                "outcome": "a",
                "idempotency_key": form_field(page.text, "idempotency_key"),
            },
        )
        assert r.status_code == 200, r.text
        if len(shapes) == 2:
            break
    assert set(shapes) == {True, False}
    assert shapes[True] == shapes[False]


@pytest.mark.skipif(BACKEND != "postgres", reason="the fast path runs on Postgres only")
def test_the_fast_path_steps_aside_for_a_campaign_with_quality_control(
    client: TestClient, session: Session
) -> None:
    _setup(client, session, data=3, gold=0, quota=2)
    user = make_user(session, "ann@example.org")
    token = make_token(session, user)
    session.commit()
    identity = ("token", token)
    assert fast_path.next_assignment(slug="qc", identity=identity, now=utcnow(), flip=False) is None
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(2):
        task = client.get("/api/v1/campaigns/qc/next", headers=headers).json()
        _vote(client, headers, task, "a")
    session.expire_all()
    assert session.scalars(select(CampaignAnnotator.data_votes)).one() == 2
    assert client.get("/api/v1/campaigns/qc/next", headers=headers).status_code == 204


def test_quota_done_on_the_page(client: TestClient, session: Session) -> None:
    _setup(client, session, data=3, gold=0, quota=1)
    annotator: User = make_user(session, "ann@example.org")
    session.commit()
    sign_in(client, "ann@example.org")
    page = client.get("/campaigns/qc/task")
    assignment_id = session.scalars(
        select(Assignment.public_id).where(Assignment.annotator_id == annotator.id)
    ).one()
    session.commit()
    r = client.post(
        f"/campaigns/qc/task/{assignment_id}/vote",
        data={
            "csrf_token": form_field(page.text, "csrf_token"),
            "outcome": "b",
            "idempotency_key": form_field(page.text, "idempotency_key"),
        },
    )
    assert r.status_code == 200 and "Nothing left for you here" in r.text
