"""The audit log: `record` in the caller's transaction, and the admin API's filters and pages."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service
from app.audit.models import AuditEvent
from app.auth.models import Role
from tests.factories import make_token, make_user


def test_record_is_part_of_the_callers_transaction(session: Session) -> None:
    admin = make_user(session, "admin@example.org", Role.admin)
    session.commit()
    service.record(session, actor=admin, action="user.role_changed", target_type="user", target_id=7)
    session.rollback()
    assert session.scalar(select(AuditEvent)) is None
    event = service.record(
        session, actor=None, action="crowd.study_saved", target_type="campaign", target_id=None
    )
    session.commit()
    assert event.actor_label == "system" and event.target_id is None and event.details == {}


def test_api_filters_and_pages_newest_first(client: TestClient, session: Session) -> None:
    admin = make_user(session, "admin@example.org", Role.admin)
    headers = {"Authorization": f"Bearer {make_token(session, admin)}"}
    for k in range(5):
        service.record(
            session,
            actor=admin,
            action="user.role_changed",
            target_type="user",
            target_id=k,
            details={"k": k},
        )
    service.record(session, actor=admin, action="user.deactivated", target_type="user", target_id=1)
    service.record(session, actor=admin, action="invite.created", target_type="invite", target_id=1)
    session.commit()

    everything = client.get("/api/v1/audit", headers=headers).json()
    assert [e["action"] for e in everything["events"]][:2] == ["invite.created", "user.deactivated"]
    assert everything["next_before"] is None and len(everything["events"]) == 7
    exact = client.get("/api/v1/audit?action=user.role_changed", headers=headers).json()["events"]
    assert len(exact) == 5 and all(e["actor_label"] == "admin@example.org" for e in exact)
    prefix = client.get("/api/v1/audit?action=user.", headers=headers).json()["events"]
    assert len(prefix) == 6
    by_type = client.get("/api/v1/audit?target_type=invite", headers=headers).json()["events"]
    assert [e["action"] for e in by_type] == ["invite.created"]
    page1 = client.get("/api/v1/audit?action=user.role_changed&limit=2", headers=headers).json()
    assert [e["details"]["k"] for e in page1["events"]] == [4, 3] and page1["next_before"] is not None
    page2 = client.get(
        f"/api/v1/audit?action=user.role_changed&limit=2&before={page1['next_before']}", headers=headers
    ).json()
    assert [e["details"]["k"] for e in page2["events"]] == [2, 1]
    assert client.get("/api/v1/audit?limit=0", headers=headers).status_code == 422
    assert client.get("/api/v1/audit?limit=501", headers=headers).status_code == 422
    # The "." of a prefix is not a wildcard for other characters.
    assert client.get("/api/v1/audit?action=user_", headers=headers).json()["events"] == []
