"""Account management: role changes, deactivation and their guards, through the API and the admin page;
every change lands in the audit log."""

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.items.models import Comparison
from app.voting import service as voting_service
from app.voting.models import Assignment, AssignmentStatus
from tests.api_helpers import form_field, sign_in
from tests.factories import make_token, make_user, seed_campaign


def _admin(session: Session, email: str = "admin@example.org") -> tuple[User, dict[str, str]]:
    admin = make_user(session, email, Role.admin)
    token = make_token(session, admin)
    session.commit()
    return admin, {"Authorization": f"Bearer {token}"}


def _fresh(session: Session, user_id: int) -> User | None:
    session.expire_all()  # the server changed the row; read it again rather than from the identity map
    user = session.get(User, user_id)
    session.commit()  # no read transaction left open while the server writes (SQLite)
    return user


def _events(session: Session, action: str) -> list[AuditEvent]:
    session.commit()  # a fresh snapshot: the server wrote in its own transaction
    events = list(
        session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )
    session.commit()  # and no read transaction left open while the server writes (SQLite)
    return events


def test_admin_lists_users_and_changes_a_role(client: TestClient, session: Session) -> None:
    admin, headers = _admin(session)
    ann = make_user(session, "ann@example.org")
    session.commit()
    users = client.get("/api/v1/users", headers=headers).json()
    assert {u["email"] for u in users} == {"admin@example.org", "ann@example.org"}
    r = client.patch(f"/api/v1/users/{ann.id}", json={"role": "researcher"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "researcher"
    [event] = _events(session, "user.role_changed")
    assert event.actor_id == admin.id and event.actor_label == "admin@example.org"
    assert (event.target_type, event.target_id) == ("user", str(ann.id))
    assert event.details == {"email": "ann@example.org", "from": "annotator", "to": "researcher"}
    assert event.remote_addr  # the test client's address


def test_annotators_and_researchers_get_403_on_admin_routes(client: TestClient, session: Session) -> None:
    target = make_user(session, "target@example.org")
    for role in (Role.annotator, Role.researcher):
        user = make_user(session, f"{role.value}@example.org", role)
        headers = {"Authorization": f"Bearer {make_token(session, user)}"}
        session.commit()
        assert client.get("/api/v1/users", headers=headers).status_code == 403
        assert (
            client.patch(f"/api/v1/users/{target.id}", json={"role": "admin"}, headers=headers).status_code
            == 403
        )
        assert client.get("/api/v1/audit", headers=headers).status_code == 403
        sign_in(client, f"{role.value}@example.org")
        assert client.get("/admin/users").status_code == 403
        assert client.get("/admin/audit").status_code == 403
        client.cookies.clear()
    assert client.get("/api/v1/audit").status_code == 401
    session.commit()
    assert _fresh(session, target.id).role == Role.annotator  # type: ignore[union-attr]


def test_nobody_changes_their_own_account_and_a_demoted_admin_loses_the_api(
    client: TestClient, session: Session
) -> None:
    admin, headers = _admin(session)
    other, other_headers = _admin(session, "other@example.org")
    r = client.patch(f"/api/v1/users/{admin.id}", json={"role": "annotator"}, headers=headers)
    assert r.status_code == 403 and "your own role" in r.json()["detail"]
    assert (
        client.patch(f"/api/v1/users/{admin.id}", json={"is_active": False}, headers=headers).status_code
        == 403
    )
    assert (
        client.patch(f"/api/v1/users/{other.id}", json={"role": "researcher"}, headers=headers).status_code
        == 200
    )
    # The demoted admin's token now carries the researcher role only.
    assert (
        client.patch(
            f"/api/v1/users/{admin.id}", json={"role": "annotator"}, headers=other_headers
        ).status_code
        == 403
    )
    assert client.patch("/api/v1/users/9999", json={"role": "annotator"}, headers=headers).status_code == 404
    session.commit()
    assert _fresh(session, admin.id).role == Role.admin  # type: ignore[union-attr]


def test_last_admin_guard_refuses_with_409(session: Session) -> None:
    from app.auth import management
    from app.errors import Conflict

    lone = make_user(session, "lone@example.org", Role.admin)
    ghost = make_user(session, "ghost@example.org", Role.admin)
    ghost.is_active = False
    session.commit()
    # An actor other than the target (no one else is an active admin), as a CLI or another admin would.
    actor = make_user(session, "actor@example.org", Role.researcher)
    for call in (
        lambda: management.change_role(session, actor=actor, user=lone, role=Role.researcher),
        lambda: management.set_active(session, actor=actor, user=lone, active=False),
    ):
        try:
            call()
        except Conflict as exc:
            assert "last active admin" in exc.message
        else:
            raise AssertionError("the last admin was let go")
    session.rollback()


def test_deactivation_refuses_token_and_cookie_and_frees_live_leases(
    client: TestClient, session: Session
) -> None:
    _, headers = _admin(session)
    campaign = seed_campaign(session, n_items=3, overlap=1)
    ann = make_user(session, "ann@example.org")
    ann_token = make_token(session, ann)
    session.commit()
    ann_headers = {"Authorization": f"Bearer {ann_token}"}
    # A lease through the API (the Postgres fast path when it applies), and a signed-in browser.
    assert client.get(f"/api/v1/campaigns/{campaign.slug}/next", headers=ann_headers).status_code == 200
    sign_in(client, "ann@example.org")
    assert client.get(f"/campaigns/{campaign.slug}/task").status_code == 200
    session.commit()
    open_before = session.scalar(
        select(func.sum(Comparison.open_slots)).where(Comparison.campaign_id == campaign.id)
    )
    assert open_before == 2
    session.commit()

    r = client.patch(f"/api/v1/users/{ann.id}", json={"is_active": False}, headers=headers)
    assert r.status_code == 200 and r.json()["is_active"] is False
    session.commit()
    statuses = session.scalars(select(Assignment.status).where(Assignment.annotator_id == ann.id)).all()
    assert statuses == [AssignmentStatus.expired]
    assert (
        session.scalar(select(func.sum(Comparison.open_slots)).where(Comparison.campaign_id == campaign.id))
        == 3
    )
    [event] = _events(session, "user.deactivated")
    assert event.details["leases_freed"] == 1

    assert client.get(f"/api/v1/campaigns/{campaign.slug}/next", headers=ann_headers).status_code == 401
    assert client.get("/api/v1/me", headers=ann_headers).status_code == 401
    # The cookie still names the user, but it no longer signs anyone in.
    r = client.get(f"/campaigns/{campaign.slug}/task", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/v1/me").status_code == 401
    # Nor can they log in again, until reactivated.
    client.cookies.clear()
    token = form_field(client.get("/login").text, "csrf_token")
    r = client.post(
        "/login",
        data={"email": "ann@example.org", "password": "correct horse battery staple", "csrf_token": token},
    )
    assert r.status_code == 401
    assert (
        client.patch(f"/api/v1/users/{ann.id}", json={"is_active": True}, headers=headers).status_code == 200
    )
    assert client.get("/api/v1/me", headers=ann_headers).status_code == 200
    assert [e.action for e in _events(session, "user.reactivated")] == ["user.reactivated"]
    # Someone else can now take the freed comparison.
    other = make_user(session, "other@example.org")
    session.commit()
    assert voting_service.next_assignment(session, campaign=campaign, annotator=other) is not None


def test_admin_page_changes_role_and_deactivates_with_csrf(client: TestClient, session: Session) -> None:
    make_user(session, "admin@example.org", Role.admin)
    ann = make_user(session, "ann@example.org")
    session.commit()
    sign_in(client, "admin@example.org")
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert "ann@example.org" in page.text and ann.pseudonym in page.text
    csrf = form_field(page.text, "csrf_token")
    assert client.post(f"/admin/users/{ann.id}/role", data={"role": "researcher"}).status_code == 403
    r = client.post(
        f"/admin/users/{ann.id}/role", data={"role": "researcher", "csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    r = client.post(
        f"/admin/users/{ann.id}/active", data={"active": "false", "csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    session.commit()
    row = _fresh(session, ann.id)
    assert row is not None and row.role == Role.researcher and not row.is_active
    r = client.post(f"/admin/users/{ann.id}/role", data={"role": "overlord", "csrf_token": csrf})
    assert r.status_code == 422 and "Unknown role" in r.text
    audit_page = client.get("/admin/audit?action=user.")
    assert audit_page.status_code == 200
    assert "user.role_changed" in audit_page.text and "user.deactivated" in audit_page.text
