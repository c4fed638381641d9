"""Crowd entry in the Prolific style: the ids recorded, one annotator per participant, bad links refused,
the completion code at the end (completed_at once), and the participant id never in an export."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.auth.service import authenticate
from app.crowd.models import CrowdParticipant
from app.exports.service import iter_rows
from tests.api_helpers import form_field, sign_in
from tests.factories import make_token, make_user, seed_campaign

PID = "5f1a2b3c4d5e6f7a8b9c0d1e"
STUDY = "65aa00bb11cc22dd33ee44ff"


def _study(client: TestClient, session: Session, **config: object) -> dict[str, str]:
    researcher = make_user(session, "res@example.org", Role.researcher)
    headers = {"Authorization": f"Bearer {make_token(session, researcher)}"}
    session.commit()
    r = client.put(
        "/api/v1/campaigns/demo/crowd", json={"completion_code": "C0DE42", **config}, headers=headers
    )
    assert r.status_code == 200, r.text
    placeholder = (
        "PROLIFIC_PID={{%PROLIFIC_PID%}}"
        if config.get("platform", "prolific") == "prolific"
        else "<participant>"
    )
    assert placeholder in r.json()["entry_url"]
    return headers


def _enter(client: TestClient, pid: str = PID, session_id: str = "sess1") -> object:
    client.cookies.clear()
    return client.get(
        f"/crowd/demo?PROLIFIC_PID={pid}&STUDY_ID={STUDY}&SESSION_ID={session_id}", follow_redirects=False
    )


def _vote_once(client: TestClient, page: str) -> str:
    action = re.search(r'action="(/campaigns/demo/task/[^"]+/vote)"', page)
    assert action is not None, page
    data = {
        "csrf_token": form_field(page, "csrf_token"),
        "idempotency_key": form_field(page, "idempotency_key"),
        "outcome": "a",
    }
    r = client.post(action.group(1), data=data)
    assert r.status_code == 200, r.text
    return r.text


def _participants(session: Session) -> list[CrowdParticipant]:
    session.expire_all()
    rows = list(session.scalars(select(CrowdParticipant).order_by(CrowdParticipant.id)))
    session.commit()
    return rows


def test_entry_records_ids_signs_in_and_reuses_the_user(client: TestClient, session: Session) -> None:
    seed_campaign(session, n_items=3)
    headers = _study(client, session)
    r = _enter(client)
    assert r.status_code == 303 and r.headers["location"] == "/campaigns/demo/task"  # type: ignore[attr-defined]
    me = client.get("/api/v1/me").json()
    assert me["role"] == "annotator" and me["kind"] == "human"
    assert me["email"].endswith("@crowd.invalid") and PID not in me["email"]
    [p] = _participants(session)
    assert (p.participant_id, p.study_id, p.session_id, p.entries) == (PID, STUDY, "sess1", 1)
    assert p.completed_at is None

    assert _enter(client, session_id="sess2").status_code == 303  # type: ignore[attr-defined]
    assert client.get("/api/v1/me").json()["id"] == me["id"]
    [p] = _participants(session)
    assert p.session_id == "sess2" and p.session_ids == ["sess1", "sess2"] and p.entries == 2
    # No password signs this account in.
    user = session.get(User, me["id"])
    assert user is not None
    for guess in ("", "!crowd-participant", user.password_hash):
        assert authenticate(session, email=user.email, password=guess) is None
    session.commit()

    listed = client.get("/api/v1/campaigns/demo/crowd/participants", headers=headers).json()
    assert [(x["participant_id"], x["session_id"], x["votes"]) for x in listed] == [(PID, "sess2", 0)]
    assert listed[0]["pseudonym"] == user.pseudonym


def test_bad_entry_links_get_a_400_page(client: TestClient, session: Session) -> None:
    seed_campaign(session, n_items=1)
    client.cookies.clear()
    assert (
        client.get(f"/crowd/demo?PROLIFIC_PID={PID}&STUDY_ID=s&SESSION_ID=x").status_code == 404
    )  # no study
    _study(client, session)
    for query, word in (
        (f"STUDY_ID={STUDY}&SESSION_ID=x", "PROLIFIC_PID"),
        (f"PROLIFIC_PID={PID}&SESSION_ID=x", "STUDY_ID"),
        (f"PROLIFIC_PID=&STUDY_ID={STUDY}&SESSION_ID=x", "PROLIFIC_PID"),
        (f"PROLIFIC_PID={PID}&STUDY_ID={STUDY}&SESSION_ID=%3Cscript%3E", "SESSION_ID"),
        (f"PROLIFIC_PID={'a' * 65}&STUDY_ID={STUDY}&SESSION_ID=x", "PROLIFIC_PID"),
    ):
        r = client.get(f"/crowd/demo?{query}")
        assert r.status_code == 400 and word in r.text, query
        assert "<script>" not in r.text
    assert _participants(session) == []
    assert client.get(f"/crowd/nope?PROLIFIC_PID={PID}&STUDY_ID=s&SESSION_ID=x").status_code == 404


def test_custom_parameter_names_and_a_closed_study(client: TestClient, session: Session) -> None:
    seed_campaign(session, n_items=1)
    headers = _study(
        client, session, platform="generic", participant_param="worker", study_param="hit", session_param="a"
    )
    client.cookies.clear()
    assert client.get("/crowd/demo?worker=W1&hit=H1&a=A1", follow_redirects=False).status_code == 303
    assert _participants(session)[0].participant_id == "W1"
    r = client.put(
        "/api/v1/campaigns/demo/crowd", json={"completion_code": "C0DE42", "is_open": False}, headers=headers
    )
    assert r.status_code == 200
    client.cookies.clear()
    r = client.get(f"/crowd/demo?PROLIFIC_PID={PID}&STUDY_ID={STUDY}&SESSION_ID=s")
    assert r.status_code == 403 and "closed" in r.text
    bad = client.put(
        "/api/v1/campaigns/demo/crowd",
        json={"completion_code": "C0DE42", "completion_url": "javascript:alert(1)"},
        headers=headers,
    )
    assert bad.status_code == 422


def test_required_votes_end_with_the_code_and_completed_at_once(client: TestClient, session: Session) -> None:
    seed_campaign(session, n_items=5)
    _study(client, session, required_votes=2)
    _enter(client)
    page = client.get("/campaigns/demo/task").text
    assert "completion-code" not in page
    page = _vote_once(client, page)
    assert "completion-code" not in page
    page = _vote_once(client, page)
    assert 'class="completion-code">C0DE42<' in page
    assert 'href="https://app.prolific.com/submissions/complete?cc=C0DE42"' in page
    [p] = _participants(session)
    first = p.completed_at
    assert first is not None
    # Reloading, or entering again, shows the code and leaves the completion time as it was.
    assert "C0DE42" in client.get("/campaigns/demo/task").text
    _enter(client, session_id="sess9")
    assert "C0DE42" in client.get("/campaigns/demo/task").text
    [p] = _participants(session)
    assert p.completed_at == first and p.entries == 2
    # Nothing more was handed out once the required votes were in.
    assert client.get("/api/v1/me").status_code == 200


def test_nothing_left_ends_the_study_and_the_export_has_no_participant_id(
    client: TestClient, session: Session
) -> None:
    campaign = seed_campaign(session, n_items=2)
    _study(client, session)
    _enter(client)
    page = client.get("/campaigns/demo/task").text
    page = _vote_once(client, page)
    page = _vote_once(client, page)
    assert "C0DE42" in page and _participants(session)[0].completed_at is not None
    session.expire_all()
    rows = list(iter_rows(session, campaign=campaign, fmt="votes"))
    session.commit()
    assert len(rows) == 2
    user = session.scalar(select(User).where(User.email.endswith("@crowd.invalid")))
    session.commit()
    assert user is not None
    text = repr(rows)
    assert PID not in text and STUDY not in text and "crowd.invalid" not in text
    assert user.pseudonym in text


def test_a_participant_arriving_to_an_empty_campaign_gets_no_code(
    client: TestClient, session: Session
) -> None:
    seed_campaign(session, n_items=1, overlap=1)
    _study(client, session)
    other = make_user(session, "other@example.org")
    session.commit()
    sign_in(client, "other@example.org")
    _vote_once(client, client.get("/campaigns/demo/task").text)
    _enter(client)
    page = client.get("/campaigns/demo/task").text
    assert "Nothing left for you here" in page and "C0DE42" not in page
    assert _participants(session)[0].completed_at is None
    assert other.id


def test_study_page_saves_with_csrf_and_audits(client: TestClient, session: Session) -> None:
    seed_campaign(session, n_items=1)
    make_user(session, "res@example.org", Role.researcher)
    make_user(session, "ann@example.org")
    session.commit()
    sign_in(client, "ann@example.org")
    assert client.get("/campaigns/demo/crowd").status_code == 403
    client.cookies.clear()
    sign_in(client, "res@example.org")
    page = client.get("/campaigns/demo/crowd")
    assert page.status_code == 200 and "Nobody has entered yet" in page.text
    fields = {
        "platform": "prolific",
        "completion_code": "ABC123",
        "completion_url": "https://app.prolific.com/submissions/complete?cc={code}",
        "required_votes": "3",
        "is_open": "on",
        "participant_param": "PROLIFIC_PID",
        "study_param": "STUDY_ID",
        "session_param": "SESSION_ID",
    }
    assert client.post("/campaigns/demo/crowd", data=fields).status_code == 403
    csrf = form_field(page.text, "csrf_token")
    r = client.post("/campaigns/demo/crowd", data={**fields, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post(
        "/campaigns/demo/crowd", data={**fields, "completion_code": "bad code!", "csrf_token": csrf}
    )
    assert r.status_code == 422 and "completion_code" in r.text
    page = client.get("/campaigns/demo/crowd").text
    assert "PROLIFIC_PID={{%PROLIFIC_PID%}}" in page and 'value="ABC123"' in page
    session.commit()
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "crowd.study_saved")).all()
    session.commit()
    assert len(events) == 1 and events[0].details["required_votes"] == 3
    assert "/campaigns/demo/crowd" in client.get("/campaigns/demo/setup").text
