"""Invite links: created by an admin (any role) or a researcher (annotators), shown once, stored hashed;
signing up with one creates the account, signs in and lands on the campaign; unusable links are refused."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.auth.security import hash_token
from app.db import utcnow
from app.invites.models import Invite
from tests.api_helpers import form_field, sign_in
from tests.factories import make_token, make_user, seed_campaign

NEW_PASSWORD = "a long enough password"


def _headers(session: Session, email: str, role: Role) -> dict[str, str]:
    user = make_user(session, email, role)
    token = make_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def _token(link: str) -> str:
    return link.rsplit("/invite/", 1)[1]


def _sign_up(client: TestClient, token: str, **fields: str) -> object:
    client.cookies.clear()
    page = client.get(f"/invite/{token}")
    assert page.status_code == 200, page.text
    data = {"csrf_token": form_field(page.text, "csrf_token"), "password": NEW_PASSWORD, **fields}
    return client.post(f"/invite/{token}", data=data, follow_redirects=False)


def test_invite_is_shown_once_stored_hashed_and_lands_on_the_campaign(
    client: TestClient, session: Session
) -> None:
    headers = _headers(session, "admin@example.org", Role.admin)
    seed_campaign(session, slug="tides", n_items=2)
    r = client.post("/api/v1/invites", json={"role": "researcher", "campaign": "tides"}, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    token = _token(body["link"])
    assert body["token"] == token and body["link"].startswith("http")
    assert body["state"] == "usable" and body["campaign"] == "tides"
    listed = client.get("/api/v1/invites", headers=headers).json()
    assert len(listed) == 1 and "token" not in listed[0] and "link" not in listed[0]
    session.commit()
    stored = session.scalar(select(Invite))
    assert stored is not None and stored.token_hash == hash_token(token) and token not in stored.token_hash
    session.commit()

    r = _sign_up(client, token, email="New.Person@example.org")
    assert r.status_code == 303 and r.headers["location"] == "/campaigns/tides/task"  # type: ignore[attr-defined]
    me = client.get("/api/v1/me").json()
    assert me["email"] == "new.person@example.org" and me["role"] == "researcher"
    # The new account's password works for an ordinary login.
    client.cookies.clear()
    csrf = form_field(client.get("/login").text, "csrf_token")
    r2 = client.post(
        "/login", data={"email": "new.person@example.org", "password": NEW_PASSWORD, "csrf_token": csrf}
    )
    assert r2.status_code == 200
    # One use by default: the link is now used up.
    assert client.get(f"/invite/{token}").status_code == 410
    assert client.get("/api/v1/invites", headers=headers).json()[0]["state"] == "used up"
    session.commit()
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    session.commit()
    assert actions == ["invite.created", "invite.accepted"]


def test_unusable_links_are_refused_with_a_clear_page(client: TestClient, session: Session) -> None:
    headers = _headers(session, "admin@example.org", Role.admin)
    links = [client.post("/api/v1/invites", json={}, headers=headers).json() for _ in range(3)]
    expired, revoked, multi = links
    session.commit()
    row = session.get(Invite, expired["id"])
    assert row is not None
    row.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    r = client.post(f"/api/v1/invites/{revoked['id']}/revoke", headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    for link, word in ((expired, "expired"), (revoked, "revoked")):
        page = client.get(f"/invite/{_token(link['link'])}")
        assert page.status_code == 410 and word in page.text
        # And the form post is refused the same way, creating no one.
        csrf = form_field(client.get("/login").text, "csrf_token")
        r = client.post(
            f"/invite/{_token(link['link'])}",
            data={"csrf_token": csrf, "email": f"{word}@example.org", "password": NEW_PASSWORD},
        )
        assert r.status_code == 410
    page = client.get("/invite/inv_not-a-real-token")
    assert page.status_code == 404 and "not valid" in page.text
    session.commit()
    assert (
        session.scalar(select(User).where(User.email.in_(["expired@example.org", "revoked@example.org"])))
        is None
    )
    session.commit()
    assert client.post("/api/v1/invites/9999/revoke", headers=headers).status_code == 404
    assert multi["state"] == "usable"


def test_bound_email_duplicates_short_passwords_and_csrf(client: TestClient, session: Session) -> None:
    headers = _headers(session, "admin@example.org", Role.admin)
    make_user(session, "taken@example.org")
    session.commit()
    bound = client.post(
        "/api/v1/invites", json={"email": "Bound@Example.org", "max_uses": 2}, headers=headers
    ).json()
    assert bound["email"] == "bound@example.org"
    token = _token(bound["link"])
    r = _sign_up(client, token, email="someone.else@example.org")
    assert r.status_code == 422 and "bound@example.org only" in r.text  # type: ignore[attr-defined]
    open_invite = client.post("/api/v1/invites", json={"max_uses": 3}, headers=headers).json()
    open_token = _token(open_invite["link"])
    r = _sign_up(client, open_token, email="taken@example.org")
    assert r.status_code == 409 and "already exists" in r.text  # type: ignore[attr-defined]
    client.cookies.clear()
    page = client.get(f"/invite/{open_token}")
    r = client.post(
        f"/invite/{open_token}",
        data={
            "csrf_token": form_field(page.text, "csrf_token"),
            "email": "short@example.org",
            "password": "short",
        },
    )
    assert r.status_code == 422 and "at least 12" in r.text
    # Without the CSRF token: refused, nobody created.
    r = client.post(f"/invite/{open_token}", data={"email": "nocsrf@example.org", "password": NEW_PASSWORD})
    assert r.status_code == 403
    # The bound link takes its own address even if none is typed.
    r = _sign_up(client, token)
    assert r.status_code == 303
    assert client.get("/api/v1/me").json()["email"] == "bound@example.org"
    assert client.get("/api/v1/invites", headers=headers).json()[-1]["uses"] == 1
    session.commit()
    emails = set(session.scalars(select(User.email)).all())
    session.commit()
    assert "nocsrf@example.org" not in emails and "short@example.org" not in emails
    assert open_invite["uses"] == 0


def test_researchers_invite_annotators_only_and_see_their_own(client: TestClient, session: Session) -> None:
    admin = _headers(session, "admin@example.org", Role.admin)
    researcher = _headers(session, "res@example.org", Role.researcher)
    annotator = _headers(session, "ann@example.org", Role.annotator)
    assert client.post("/api/v1/invites", json={}, headers=annotator).status_code == 403
    assert client.get("/api/v1/invites", headers=annotator).status_code == 403
    r = client.post("/api/v1/invites", json={"role": "researcher"}, headers=researcher)
    assert r.status_code == 403 and "only invite annotators" in r.json()["detail"]
    assert client.post("/api/v1/invites", json={"role": "admin"}, headers=researcher).status_code == 403
    mine = client.post("/api/v1/invites", json={"role": "annotator"}, headers=researcher).json()
    theirs = client.post("/api/v1/invites", json={"role": "admin"}, headers=admin).json()
    assert [i["id"] for i in client.get("/api/v1/invites", headers=researcher).json()] == [mine["id"]]
    assert {i["id"] for i in client.get("/api/v1/invites", headers=admin).json()} == {
        mine["id"],
        theirs["id"],
    }
    assert client.post(f"/api/v1/invites/{theirs['id']}/revoke", headers=researcher).status_code == 404
    assert client.post(f"/api/v1/invites/{mine['id']}/revoke", headers=researcher).status_code == 200
    r = client.post("/api/v1/invites", json={"campaign": "nope"}, headers=admin)
    assert r.status_code == 404
    r = client.post("/api/v1/invites", json={"expires_in_days": 0}, headers=admin)
    assert r.status_code == 422


def test_admin_page_creates_and_revokes_invites(client: TestClient, session: Session) -> None:
    make_user(session, "admin@example.org", Role.admin)
    seed_campaign(session, slug="tides", n_items=1)
    sign_in(client, "admin@example.org")
    csrf = form_field(client.get("/admin/users").text, "csrf_token")
    assert client.post("/admin/invites", data={"role": "annotator"}).status_code == 403
    r = client.post(
        "/admin/invites", data={"csrf_token": csrf, "role": "annotator", "campaign": "tides", "max_uses": "5"}
    )
    assert r.status_code == 201
    link = form_field(r.text.replace('class="invite-link" value="', 'name="link" value="'), "link")
    assert "/invite/inv_" in link
    # The link is on that answer only.
    again = client.get("/admin/users").text
    assert _token(link) not in again and "5" in again
    session.commit()
    invite = session.scalar(select(Invite))
    session.commit()
    assert invite is not None and invite.max_uses == 5 and invite.token_hash == hash_token(_token(link))
    r = client.post(f"/admin/invites/{invite.id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/invite/{_token(link)}").status_code == 410
    r = client.post("/admin/invites", data={"csrf_token": csrf, "role": "annotator", "email": "not-an-email"})
    assert r.status_code == 422
