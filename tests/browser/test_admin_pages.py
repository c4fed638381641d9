"""Annotator management in a real browser against `preflab serve`: an admin creates an invite link on
/admin/users and a new visitor signs up with it and lands on the campaign; a crowd participant enters
through a Prolific-style link, votes until the study is done, sees the completion code and is sent on."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.chromium import ARTIFACTS, CHROMIUM
from tests.conftest import BACKEND, PASSWORD, run_cli

sync_api = pytest.importorskip("playwright.sync_api")

ADMIN = "admin@example.org"
SLUG = "invited"
PID = "60a1b2c3d4e5f60718293a4b"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]


def _set_up(cli_env: dict[str, str], base: str, tmp_path: Path) -> dict[str, str]:
    run_cli(cli_env, "user", "add", ADMIN, "--role", "admin")
    headers = {"Authorization": f"Bearer {run_cli(cli_env, 'token', 'create', ADMIN).stdout.strip()}"}
    r = httpx.post(f"{base}/api/v1/campaigns", json={"slug": SLUG, "name": "Tide pools"}, headers=headers)
    assert r.status_code == 201, r.text
    items = tmp_path / "items.jsonl"
    items.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"i{i}",
                    "prompt": f"Describe tide pool {i}.",
                    "candidates": [
                        {"system": "s-one", "content": f"Anemones and crabs in pool {i}."},
                        {"system": "s-two", "content": f"Pool {i} is full of snails."},
                    ],
                }
            )
            + "\n"
            for i in range(4)
        ),
        encoding="utf-8",
    )
    run_cli(cli_env, "import", SLUG, str(items))
    return headers


def test_admin_invites_someone_who_signs_up_and_lands_on_the_campaign(
    live_server: str, cli_env: dict[str, str], tmp_path: Path, browser: Any
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _set_up(cli_env, live_server, tmp_path)
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = admin_context.new_page()
    page.goto(f"{live_server}/login?next=/admin/users")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/admin/users")
    assert page.is_visible("a[href='/admin/users']")  # the nav link, for admins
    page.select_option("select[name=campaign]", SLUG)
    page.fill("input[name=note]", "for the spring cohort")
    page.click("text=Create invite")
    page.wait_for_selector(".invite-link")
    link = page.input_value(".invite-link")
    assert link.startswith(f"{live_server}/invite/inv_")
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-admin-invite.png"), full_page=True)
    admin_context.close()

    newcomer = browser.new_context(viewport={"width": 1280, "height": 900})
    page = newcomer.new_page()
    page.goto(link)
    assert "Create your account" in page.inner_text("main")
    page.fill("input[name=email]", "newcomer@example.org")
    page.fill("input[name=password]", "tide pools are lovely")
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-invite-signup.png"), full_page=True)
    page.click("text=Sign up")
    page.wait_for_url(f"{live_server}/campaigns/{SLUG}/task")
    page.wait_for_selector("#vote-form")
    assert "newcomer@example.org" in page.inner_text(".topbar")
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-invite-landed.png"), full_page=False)
    # The link had one use.
    page.goto(link)
    assert "used up" in page.inner_text("main")
    newcomer.close()


def test_crowd_participant_votes_until_done_and_sees_the_completion_code(
    live_server: str, cli_env: dict[str, str], tmp_path: Path, browser: Any
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    headers = _set_up(cli_env, live_server, tmp_path)
    # A completion address on this server, so the automatic redirect can be seen to happen.
    study = {
        "completion_code": "CX7Q2P",
        "required_votes": 2,
        "completion_url": f"{live_server}/healthz?cc={{code}}",
    }
    assert (
        httpx.put(f"{live_server}/api/v1/campaigns/{SLUG}/crowd", json=study, headers=headers).status_code
        == 200
    )

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/crowd/{SLUG}?PROLIFIC_PID={PID}&STUDY_ID=study42&SESSION_ID=sess42")
    page.wait_for_url(f"{live_server}/campaigns/{SLUG}/task")
    for _ in range(2):
        page.wait_for_selector("#vote-form")
        before = page.get_attribute("#vote-form", "hx-post")
        page.keyboard.press("1")
        page.wait_for_function(
            "url => { const f = document.querySelector('#vote-form');"
            " return !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
            " && (document.querySelector('.task-done') || (f && f.getAttribute('hx-post') !== url)); }",
            arg=before,
        )
    page.wait_for_selector(".completion-code")
    assert page.inner_text(".completion-code") == "CX7Q2P"
    assert PID not in page.content()
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-crowd-complete.png"), full_page=True)
    page.wait_for_url(f"{live_server}/healthz?cc=CX7Q2P", timeout=20_000)
    context.close()

    participants = httpx.get(
        f"{live_server}/api/v1/campaigns/{SLUG}/crowd/participants", headers=headers
    ).json()
    assert [(p["participant_id"], p["study_id"], p["session_id"], p["votes"]) for p in participants] == [
        (PID, "study42", "sess42", 2)
    ]
    assert participants[0]["completed_at"] is not None
