"""Small helpers for API tests: users with tokens, authorised headers, waiting for jobs."""

import time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role
from tests.factories import PASSWORD, make_token, make_user


def bearer(session: Session, email: str, role: Role = Role.annotator) -> dict[str, str]:
    user = make_user(session, email, role)
    token = make_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def wait_for_job(client: TestClient, headers: dict[str, str], job_id: str, timeout: float = 120) -> dict:
    """Polls GET /api/v1/jobs/{id} until the job finished; returns it (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    job: dict = {}
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job.get('status')} after {timeout} s")


def form_field(html: str, name: str) -> str:
    """The value of a hidden form field (csrf_token, idempotency_key, ...) in a page."""
    return html.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]


def sign_in(client: TestClient, email: str) -> None:
    """Signs in through the login form, as a browser does; the client then carries the session."""
    token = form_field(client.get("/login").text, "csrf_token")
    r = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
