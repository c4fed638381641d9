"""The HTML pages without a browser: logins, CSRF, fragments, refused votes, sanitised markdown, the demo."""

import json
import re
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.arena.service import list_systems
from app.auth.models import Role
from app.auth.service import authenticate
from app.campaigns.schemas import CampaignUpdate
from app.campaigns.service import get_campaign, update_campaign
from app.db import utcnow
from app.demo.seed import DEMO_ITEMS, seed_demo
from app.items.models import Item
from app.items.service import import_items
from app.voting.models import Assignment, Vote
from app.web import render_markdown, safe_next
from tests.factories import PASSWORD, SYSTEMS, make_campaign, make_user, seed_campaign

HTML = {"Accept": "text/html"}
HTMX = {"Accept": "text/html", "HX-Request": "true"}


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field in the page"
    return match.group(1)


def _login(client: TestClient, email: str = "ann@example.org", next: str = "/campaigns") -> str:
    """Logs in through the form; returns the new session's CSRF token."""
    page = client.get("/login", headers=HTML)
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "next": next,
            "csrf_token": _field(page.text, "csrf_token"),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return _field(client.get("/campaigns", headers=HTML).text, "csrf_token")


def _task(client: TestClient, slug: str = "demo") -> tuple[str, str, str]:
    """(vote URL, idempotency key, page) of the current task."""
    page = client.get(f"/campaigns/{slug}/task", headers=HTML).text
    url = re.search(r'hx-post="([^"]+)"', page)
    assert url, page
    return url.group(1), _field(page, "idempotency_key"), page


def _vote(client: TestClient, csrf: str, url: str, key: str, **fields: str) -> httpx.Response:
    data = {"outcome": "a", "idempotency_key": key, **fields}
    return client.post(url, data=data, headers={**HTMX, "X-CSRF-Token": csrf})


@pytest.fixture
def annotator(session: Session) -> None:
    make_user(session, "ann@example.org")
    session.commit()


def test_logged_out_pages_send_the_browser_to_the_login_form(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    response = client.get("/campaigns/demo/task?x=1", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/campaigns/demo/task%3Fx%3D1"
    # htmx gets a full navigation instead of a login form inside the task fragment.
    response = client.get("/campaigns", headers=HTMX, follow_redirects=False)
    assert response.headers["HX-Redirect"] == "/login?next=/campaigns"


def test_login_checks_the_password_and_the_csrf_token(client: TestClient, annotator: None) -> None:
    token = _field(client.get("/login", headers=HTML).text, "csrf_token")
    wrong = {"email": "ann@example.org", "password": "not it at all", "csrf_token": token}
    response = client.post("/login", data=wrong, headers=HTML)
    assert response.status_code == 401 and "Wrong email or password" in response.text
    no_csrf = {"email": "ann@example.org", "password": PASSWORD}
    response = client.post("/login", data=no_csrf, headers=HTML, follow_redirects=False)
    assert response.status_code == 403 and "CSRF" in response.text
    assert client.get("/campaigns", headers=HTML, follow_redirects=False).status_code == 303

    good = {**no_csrf, "csrf_token": token, "next": "//evil.example/x"}
    response = client.post("/login", data=good, headers=HTML, follow_redirects=False)
    assert response.headers["location"] == "/campaigns"
    assert client.get("/campaigns", headers=HTML).status_code == 200


def test_logout_needs_the_csrf_token_and_ends_the_session(client: TestClient, annotator: None) -> None:
    csrf = _login(client)
    assert client.post("/logout", headers=HTML, follow_redirects=False).status_code == 403
    response = client.post("/logout", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False)
    assert response.headers["location"] == "/login"
    assert client.get("/campaigns", headers=HTML, follow_redirects=False).status_code == 303


def test_next_only_goes_to_paths_on_this_site() -> None:
    assert safe_next("/campaigns/x/task?a=1") == "/campaigns/x/task?a=1"
    for bad in ("https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "", None):
        assert safe_next(bad) == "/campaigns"


def test_campaign_list_shows_active_campaigns_with_progress(
    client: TestClient, session: Session, annotator: None
) -> None:
    seed_campaign(session, slug="open", n_items=4, name="Open one")
    paused = seed_campaign(session, slug="paused", n_items=2, name="Paused one")
    update_campaign(session, campaign=paused, data=CampaignUpdate(status="paused"))
    session.commit()
    _login(client)
    page = client.get("/campaigns", headers=HTML).text
    assert "Open one" in page and "Paused one" not in page
    assert "0 done · 4 to go" in page


def test_task_page_is_a_full_page_and_a_fragment_for_htmx_and_names_no_system(
    client: TestClient, session: Session, annotator: None
) -> None:
    seed_campaign(session, n_items=2, guidelines="Be **fair**.")
    _login(client)
    page = client.get("/campaigns/demo/task", headers=HTML)
    assert page.text.startswith("<!doctype html>") and "<strong>fair</strong>" in page.text
    assert 'id="vote-form"' in page.text and page.headers["cache-control"] == "no-store"
    boosted = client.get("/campaigns/demo/task", headers={**HTMX, "HX-Boosted": "true"})
    assert boosted.text.startswith("<!doctype html>")
    fragment = client.get("/campaigns/demo/task", headers=HTMX)
    assert fragment.text.startswith('<section id="task"') and "<html" not in fragment.text
    assert "Be <strong>fair" not in fragment.text  # guidelines live in the page, outside the fragment
    for response in (page, boosted, fragment):
        text = response.text + json.dumps(dict(response.headers))
        assert not any(system in text for system in SYSTEMS)


def test_a_vote_swaps_in_the_next_task_and_reveals_names_only_if_the_campaign_says_so(
    client: TestClient, session: Session, annotator: None
) -> None:
    seed_campaign(session, slug="shown", n_items=2, reveal_identities=True)
    seed_campaign(session, slug="blind", n_items=2)
    csrf = _login(client)
    for slug, revealed in (("shown", True), ("blind", False)):
        url, key, _ = _task(client, slug)
        response = _vote(client, csrf, url, key, strength="3", flags_b="incorrect")
        assert response.status_code == 200 and response.text.startswith('<section id="task"')
        assert "Vote saved: A is better (much better)." in response.text
        assert 'id="vote-form"' in response.text and url not in response.text
        assert all(system in response.text for system in SYSTEMS[:2]) is revealed
        assert any(system in response.text for system in SYSTEMS) is revealed


def test_pressing_twice_stores_one_vote(client: TestClient, session: Session, annotator: None) -> None:
    seed_campaign(session, n_items=3)
    csrf = _login(client)
    url, key, _ = _task(client)
    first, second = _vote(client, csrf, url, key), _vote(client, csrf, url, key)
    assert first.status_code == second.status_code == 200
    assert session.scalar(select(func.count()).select_from(Vote)) == 1
    assert _field(first.text, "idempotency_key") != key


def test_a_vote_without_csrf_token_is_refused(client: TestClient, session: Session, annotator: None) -> None:
    seed_campaign(session, n_items=1)
    _login(client)
    url, key, _ = _task(client)
    response = client.post(url, data={"outcome": "a", "idempotency_key": key}, headers=HTMX)
    assert response.status_code == 403 and "CSRF" in response.text
    assert "<html" not in response.text  # the error fragment, swapped where the task was
    assert session.scalar(select(func.count()).select_from(Vote)) == 0


def test_an_expired_lease_says_so_and_shows_the_next_task(
    client: TestClient, session: Session, annotator: None
) -> None:
    seed_campaign(session, n_items=2)
    csrf = _login(client)
    url, key, _ = _task(client)
    session.execute(update(Assignment).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    response = _vote(client, csrf, url, key)
    assert response.status_code == 200
    assert "That vote was not saved" in response.text and "expired" in response.text
    assert 'id="vote-form"' in response.text
    assert session.scalar(select(func.count()).select_from(Vote)) == 0


def test_a_missing_rationale_keeps_the_task_and_what_was_typed(
    client: TestClient, session: Session, annotator: None
) -> None:
    seed_campaign(session, n_items=2, require_rationale=True)
    csrf = _login(client)
    url, key, _ = _task(client)
    response = _vote(client, csrf, url, key, outcome="b", rationale="   ", flags_a="unsafe")
    assert response.status_code == 422
    assert "asks for a rationale" in response.text and url in response.text
    assert re.search(r'data-outcome="b"\s+aria-pressed="true"', response.text)
    assert 'name="flags_a" value="unsafe" checked' in response.text
    response = _vote(
        client, csrf, url, _field(response.text, "idempotency_key"), outcome="b", rationale="Clearer."
    )
    assert response.status_code == 200 and "Vote saved: B is better." in response.text


def test_a_vote_without_an_outcome_asks_for_one(
    client: TestClient, session: Session, annotator: None
) -> None:
    seed_campaign(session, n_items=1)
    csrf = _login(client)
    url, key, _ = _task(client)
    response = _vote(client, csrf, url, key, outcome="")
    assert response.status_code == 422 and "Choose A, B, tie or both bad" in response.text


def test_nothing_left_and_paused_campaigns_get_a_clear_page(
    client: TestClient, session: Session, annotator: None
) -> None:
    campaign = seed_campaign(session, n_items=1)
    csrf = _login(client)
    url, key, _ = _task(client)
    response = _vote(client, csrf, url, key, outcome="tie")
    assert "Nothing left for you here" in response.text and "(1 vote)" in response.text
    update_campaign(session, campaign=campaign, data=CampaignUpdate(status="paused"))
    session.commit()
    page = client.get("/campaigns/demo/task", headers=HTML).text
    assert "No tasks right now" in page and "paused" in page


def test_errors_are_pages_or_fragments(client: TestClient, annotator: None) -> None:
    _login(client)
    page = client.get("/campaigns/nope/task", headers=HTML)
    assert (
        page.status_code == 404
        and page.text.startswith("<!doctype html>")
        and "No campaign &#39;nope&#39;." in page.text
    )
    fragment = client.get("/campaigns/nope/task", headers=HTMX)
    assert fragment.status_code == 404 and fragment.text.lstrip().startswith(
        '<section class="card error-box"'
    )


def test_markdown_is_rendered_safely() -> None:
    html = str(
        render_markdown(
            "# Title <script>alert(1)</script>\n\n"
            "[bad](javascript:alert(1)) [good](https://example.org) ![pic](https://example.org/p.png)\n\n"
            '<img src=x onerror="alert(1)">\n\n'
            "```python\nprint('hi')\n```\n"
        )
    )
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=" in html  # raw HTML stays text
    assert 'href="javascript' not in html
    assert '<a href="https://example.org" rel="noopener nofollow">good</a>' in html
    assert '<a href="https://example.org/p.png" rel="noopener nofollow">[image: pic]</a>' in html
    assert '<pre class="highlight"><code><span class="nb">print</span>' in html


def test_candidate_html_never_runs_on_the_task_page(
    client: TestClient, session: Session, annotator: None
) -> None:
    campaign = make_campaign(session)
    line = {
        "id": "x",
        "prompt": "<script>alert('prompt')</script>",
        "candidates": [
            {"system": "s1", "content": "<script>alert('a')</script>"},
            {
                "system": "s2",
                "content": '<a href="javascript:alert(1)">b</a> <iframe src="https://evil"></iframe>',
            },
        ],
    }
    import_items(session, campaign=campaign, lines=[json.dumps(line)])
    session.commit()
    _login(client)
    page = client.get("/campaigns/demo/task", headers=HTML).text
    assert "alert(" in page  # shown as text ...
    assert "<script>alert" not in page and "<iframe" not in page and '<a href="javascript' not in page


def test_demo_seed_is_idempotent_and_prints_working_credentials(session: Session) -> None:
    passwords = iter(f"demo-password-{i:04d}" for i in range(100))
    first = seed_demo(
        admin_email="a@demo.test", annotator_email="n@demo.test", password_factory=lambda: next(passwords)
    )
    second = seed_demo(
        admin_email="a@demo.test", annotator_email="n@demo.test", password_factory=lambda: next(passwords)
    )
    assert first[0] == "admin: a@demo.test / demo-password-0000"
    assert second[1] == "annotator: n@demo.test / demo-password-0003"
    assert authenticate(session, email="n@demo.test", password="demo-password-0003").role == Role.annotator
    assert authenticate(session, email="a@demo.test", password="demo-password-0002").role == Role.admin
    helpfulness = get_campaign(session, slug="demo-helpfulness")
    rationale = get_campaign(session, slug="demo-rationale")
    assert helpfulness.reveal_identities and helpfulness.overlap == 1
    assert rationale.require_rationale and rationale.overlap == 2 and not rationale.reveal_identities
    assert "already seeded (15 items)" in second[2]
    assert first[-2] == "arena demo-arena: 3 systems, 15 prompts" and second[-2].endswith("already seeded")
    assert first[-1] == "arena demo-audio-arena: 3 synthesizers, 4 prompts"
    assert second[-1].endswith("already seeded")
    arena = get_campaign(session, slug="demo-arena")
    # 15 per campaign and the text arena, 4 prompts in the audio arena; the campaigns per task kind and
    # modality (tests/demo/test_seed.py) add 5 x 15 text items, 4 rankings and 9 media items
    assert session.scalar(select(func.count()).select_from(Item)) == 49 + 75 + 4 + 9
    assert len(list_systems(session, campaign=arena)) == 3
    audio = list_systems(session, campaign=get_campaign(session, slug="demo-audio-arena"))
    assert sorted(s.name for s in audio) == ["organ-synth", "sine-synth", "square-synth"]


def test_demo_items_never_name_their_system() -> None:
    lines = [json.loads(line) for line in DEMO_ITEMS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert 12 <= len(lines) <= 20
    systems = {c["system"] for line in lines for c in line["candidates"]}
    assert len(systems) >= 2
    for line in lines:
        texts = [line["prompt"], *(c["content"] for c in line["candidates"])]
        assert not any(system in text for system in systems for text in texts), line["id"]
    assert any("```" in c["content"] for line in lines for c in line["candidates"])
