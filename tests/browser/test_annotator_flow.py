"""The annotator's loop in a real browser (Debian's Chromium through Playwright) against `preflab serve`.

Set-up goes through the CLI and the JSON API; then an annotator logs in, votes by keyboard and reaches
"nothing left". Every response the browser receives is kept, and none may name a system.
"""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.chromium import ARTIFACTS, CHROMIUM
from tests.conftest import BACKEND, PASSWORD, run_cli

sync_api = pytest.importorskip("playwright.sync_api")

# Names no page, script or stylesheet could contain by chance.
SYSTEMS = ("zephyr-orchid-7b", "basalt-quokka-13b")
ANNOTATOR = "ann@example.org"
ADMIN = "admin@example.org"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]


def _items(n: int) -> list[dict[str, Any]]:
    topics = ["tidal pools", "sourdough starters", "lighthouse lenses", "glacier caves"]
    return [
        {
            "id": f"item-{i}",
            "prompt": f"Explain **{topics[i]}** in two sentences.",
            "candidates": [
                {
                    "system": SYSTEMS[0],
                    "content": f"A careful answer about {topics[i]}.\n\n```python\nprint({i})\n```",
                },
                {"system": SYSTEMS[1], "content": f"A shorter take on {topics[i]}; see *notes*."},
            ],
        }
        for i in range(n)
    ]


def _set_up(
    cli_env: dict[str, str], base: str, tmp_path: Path, slug: str, n_items: int, **fields: Any
) -> None:
    run_cli(cli_env, "user", "add", ANNOTATOR)
    run_cli(cli_env, "user", "add", ADMIN, "--role", "admin")
    token = run_cli(cli_env, "token", "create", ADMIN).stdout.strip()
    response = httpx.post(
        f"{base}/api/v1/campaigns",
        json={
            "slug": slug,
            "name": f"Browser test {slug}",
            "guidelines": "Pick the **better** answer.",
            **fields,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    items = tmp_path / f"{slug}.jsonl"
    items.write_text("".join(json.dumps(item) + "\n" for item in _items(n_items)), encoding="utf-8")
    run_cli(cli_env, "import", slug, str(items))


class Traffic:
    """Everything the browser was sent and sent back: URLs, headers, bodies."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.vote_posts = 0

    def on_response(self, response: Any) -> None:
        try:
            body = response.body().decode("utf-8", "replace")
        except Exception:  # redirects have no body
            body = ""
        headers = json.dumps(response.headers_array())
        self.seen.append((response.url, f"{response.url}\n{headers}\n{body}"))

    def on_request(self, request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/vote"):
            self.vote_posts += 1
        self.seen.append((request.url, f"{request.url}\n{request.post_data or ''}"))

    def leaks(self, names: tuple[str, ...]) -> list[str]:
        return [f"{name} in {url}" for url, text in self.seen for name in names if name in text]


def _login(page: Any, base: str, path: str) -> None:
    page.goto(base + path)
    assert "/login" in page.url
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-login.png"), full_page=True)
    page.fill("input[name=email]", ANNOTATOR)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}{path}")


def _vote_url(page: Any) -> str:
    return page.get_attribute("#vote-form", "hx-post")


def _wait_for_next(page: Any, previous_url: str) -> None:
    # The next task is there, and htmx has finished swapping and settling it: a key pressed while a
    # request is still in flight is dropped on purpose (that is what stops a double press voting twice).
    page.wait_for_function(
        "url => { const f = document.querySelector('#vote-form');"
        " const idle = !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
        "   && !(f && f.querySelector('fieldset:disabled'));"
        " const moved = document.querySelector('.task-done') || (f && f.getAttribute('hx-post') !== url);"
        " return idle && moved; }",
        arg=previous_url,
    )


def _export(cli_env: dict[str, str], slug: str, out: Path) -> list[dict[str, Any]]:
    run_cli(cli_env, "export", slug, "--format", "votes", "--out", str(out))
    lines = (out / "data.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_annotator_votes_three_tasks_by_keyboard_and_never_sees_a_system_name(
    live_server: str, cli_env: dict[str, str], tmp_path: Path, browser: Any
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    slug = "blind"
    _set_up(cli_env, live_server, tmp_path, slug, 3, reveal_identities=False)
    traffic = Traffic()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.on("response", traffic.on_response)
    context.on("request", traffic.on_request)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    _login(page, live_server, "/campaigns")
    assert page.locator(".campaign").count() == 1
    page.click(f"a[href='/campaigns/{slug}/task'] >> nth=0")
    page.wait_for_selector("#vote-form")
    assert page.locator("#guidelines[open]").count() == 1
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-task.png"), full_page=True)

    # 1: strength and a flag by mouse, then "1" (A) pressed twice in one tick: one request, one vote.
    first = _vote_url(page)
    page.click("[data-strength='2']")
    page.check("input[name=flags_b][value=incorrect]")
    page.evaluate(
        "() => { for (const key of ['1', '1']) "
        "document.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true})); }"
    )
    _wait_for_next(page, first)
    assert "Vote saved: A is better (clearly better)." in page.inner_text(".flash-ok")
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-after-vote.png"), full_page=False)

    # 2: a rationale typed in, Esc to leave the box, then the right arrow (B).
    second = _vote_url(page)
    page.click("textarea[name=rationale]")
    page.keyboard.type("B explains all 3 steps; A skips them.")  # a digit typed in the box is text
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowRight")
    _wait_for_next(page, second)

    # 3: a tie.
    third = _vote_url(page)
    page.keyboard.press("3")
    _wait_for_next(page, third)
    page.wait_for_selector(".task-done")
    assert "Nothing left for you here" in page.inner_text("#task")
    assert "3 votes" in page.inner_text("#task")
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-nothing-left.png"), full_page=True)

    assert errors == []
    assert traffic.vote_posts == 3
    # The bodies were really read: the task fragments' HTML and the vendored htmx are among them.
    assert any("sourdough starters" in text for _, text in traffic.seen)
    assert any('version:"2.0.11"' in text for _, text in traffic.seen)
    assert traffic.leaks(SYSTEMS) == []
    context.close()

    rows = _export(cli_env, slug, tmp_path / "export")
    assert len(rows) == 3
    one, two, three = rows
    assert one["outcome"] == "preference" and one["winner_system"] == one["shown_a_system"]
    assert one["strength"] == 2 and one["flags_b"] == ["incorrect"] and one["flags_a"] == []
    assert two["outcome"] == "preference" and two["winner_system"] == two["shown_b_system"]
    assert two["rationale"] == "B explains all 3 steps; A skips them."
    assert three["outcome"] == "tie" and three["winner_system"] is None
    assert [row["rationale"] for row in rows].count("") == 2


def test_a_required_rationale_takes_a_key_then_text_then_ctrl_enter(
    live_server: str, cli_env: dict[str, str], tmp_path: Path, browser: Any
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    slug = "why"
    _set_up(cli_env, live_server, tmp_path, slug, 2, require_rationale=True, overlap=2)
    traffic = Traffic()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.on("request", traffic.on_request)
    page = context.new_page()
    _login(page, live_server, f"/campaigns/{slug}/task")

    first = _vote_url(page)
    page.keyboard.press("2")
    assert page.evaluate("document.activeElement.name") == "rationale"
    assert page.get_attribute("[data-outcome=b]", "aria-pressed") == "true"
    page.keyboard.press("Control+Enter")  # empty: the browser refuses, nothing is sent
    page.wait_for_timeout(300)
    assert traffic.vote_posts == 0 and _vote_url(page) == first
    page.keyboard.type("It answers the question.")
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-rationale-narrow.png"), full_page=True)
    page.keyboard.press("Control+Enter")
    _wait_for_next(page, first)

    second = _vote_url(page)
    page.click("[data-outcome=tie]")
    page.keyboard.type("Both are fine.")
    page.click("#vote-form button[type=submit]")
    _wait_for_next(page, second)
    page.wait_for_selector(".task-done")
    assert traffic.vote_posts == 2
    context.close()

    rows = _export(cli_env, slug, tmp_path / "export")
    assert [(row["outcome"], row["rationale"]) for row in rows] == [
        ("preference", "It answers the question."),
        ("tie", "Both are fine."),
    ]
    assert rows[0]["winner_system"] == rows[0]["shown_b_system"]
