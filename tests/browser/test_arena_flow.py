"""An arena in a real browser: an admin creates it from the form, a signed-in voter and an anonymous
one battle (answers streaming from a live OpenAI-compatible server), vote by keyboard and see the
names revealed; the leaderboard page then ranks the systems with intervals."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chromium import ARTIFACTS, CHROMIUM
from tests.conftest import PASSWORD, run_cli
from tests.support.openai_server import serve_openai

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]
ADMIN = "admin@example.org"
VOTER = "voter@example.org"


def _log_in(page: Any, base: str, email: str, then: str) -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{then}")


def _battle(page: Any, prompt: str, key: str) -> str:
    """Types a prompt, waits for both answers, votes with `key`; returns the revealed text."""
    page.fill("#arena-prompt", prompt)
    page.press("#arena-prompt", "Control+Enter")
    try:
        page.wait_for_selector(".arena-vote button[data-key='1']:not([disabled])", timeout=30_000)
    except Exception:
        page.screenshot(path="/tmp/arena-debug.png", full_page=True)
        print(page.content()[-3000:])
        raise
    sides = page.query_selector_all(".arena-battle .side .prose")
    assert len(sides) == 2 and all(s.inner_text().strip() for s in sides)
    # Blind until the vote: the headings say Model A / Model B.
    assert [h.inner_text().strip() for h in page.query_selector_all(".side-name")] == ["Model A", "Model B"]
    page.keyboard.press(key)
    page.wait_for_selector("[data-reveal]")
    return page.inner_text("[data-reveal]")


def test_admin_launches_an_arena_voters_battle_and_the_leaderboard_ranks(
    browser: Any, live_server: str, cli_env: dict[str, str]
) -> None:
    base = live_server
    run_cli(cli_env, "user", "add", ADMIN, "--role", "admin")
    run_cli(cli_env, "user", "add", VOTER)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve_openai() as server:
        server.piece_delay_s = 0.05
        systems = "\n".join(
            json.dumps(
                {
                    "name": name,
                    "vendor": vendor,
                    "provider": {"kind": "openai", "base_url": server.base_url, "model": name},
                }
            )
            for name, vendor in (("echo-large", "Echo Inc"), ("echo-small", "Echo Inc"))
        )
        admin = browser.new_page(viewport={"width": 1200, "height": 900})
        _log_in(admin, base, ADMIN, "/campaigns")
        admin.click("text=New arena")
        admin.wait_for_url(f"{base}/arenas/new")
        admin.fill("input[name=slug]", "chat")
        admin.fill("input[name=name]", "Chat arena")
        admin.fill("textarea[name=systems]", systems)
        config = json.loads(admin.input_value("textarea[name=config]"))
        config.update(allow_anonymous=True, min_battles=1, bootstrap_rounds=100)
        admin.fill("textarea[name=config]", json.dumps(config))
        admin.click("button:has-text('Create arena')")
        admin.wait_for_url(f"{base}/arena/chat/admin")
        assert len(admin.query_selector_all("table[data-systems] tbody tr")) == 2

        voter = browser.new_page(viewport={"width": 1200, "height": 900})
        _log_in(voter, base, VOTER, "/campaigns")
        voter.click("a.button:has-text('Battle')")
        voter.wait_for_url(f"{base}/arena/chat")
        revealed = _battle(voter, "Say something kind.", "1")
        assert "echo-large" in revealed and "echo-small" in revealed
        voter.screenshot(path=str(ARTIFACTS / "arena-reveal.png"), full_page=True)
        voter.keyboard.press("n")
        voter.wait_for_selector("#arena-prompt")
        _battle(voter, "Another one.", "3")

        # Someone without an account, in a fresh browser context: allowed by this arena's settings.
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        anonymous = context.new_page()
        anonymous.goto(f"{base}/arena/chat")
        _battle(anonymous, "Hello there.", "2")
        assert any(c["name"].startswith("preflab_arena_voter") for c in context.cookies())
        context.close()

    admin.goto(f"{base}/arena/chat/admin")
    admin.click("button:has-text('Recompute the leaderboard now')")
    admin.wait_for_url(f"{base}/arena/chat/leaderboard")
    for _ in range(50):
        if admin.query_selector("table[data-leaderboard]"):
            break
        admin.wait_for_timeout(200)
        admin.reload()
    rows = admin.query_selector_all("table[data-leaderboard] tbody tr")
    assert len(rows) == 2
    assert "3 counted votes" in admin.inner_text("[data-stamp]")
    assert admin.query_selector("section.chart svg") is not None
    admin.screenshot(path=str(ARTIFACTS / "arena-leaderboard.png"), full_page=True)


def test_the_demo_audio_arena_plays_both_clips_blind(
    browser: Any, live_server: str, cli_env: dict[str, str]
) -> None:
    """`preflab demo`'s audio arena: each side is the demo synthesizer run as a program; the browser
    loads both clips from URLs that name no system, and the vote reveals the voices."""
    from app.cli import DEMO_ANNOTATOR

    seeded = run_cli(cli_env, "demo", "--no-serve").stdout
    password = next(
        line.rsplit(" / ", 1)[1].strip()
        for line in seeded.splitlines()
        if line.strip().startswith("annotator:")
    )
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{live_server}/login?next=/arena/demo-audio-arena")
    page.fill("input[name=email]", DEMO_ANNOTATOR)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/arena/demo-audio-arena")
    page.fill("#arena-prompt", "Hello arena")
    page.press("#arena-prompt", "Control+Enter")
    page.wait_for_selector(".arena-vote button[data-key='1']:not([disabled])", timeout=30_000)
    sources = page.eval_on_selector_all(".arena-battle audio", "els => els.map(e => e.getAttribute('src'))")
    assert len(sources) == 2 and all("/answers/1/" in s and "-synth" not in s for s in sources)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.arena-battle audio')].every(a => a.readyState >= 1)",
        timeout=10_000,
    )
    durations = page.eval_on_selector_all(".arena-battle audio", "els => els.map(e => e.duration)")
    assert all(d > 0.5 for d in durations), durations
    assert "-synth" not in page.inner_text("main") and "-synth" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "arena-audio.png"), full_page=True)
    page.keyboard.press("1")
    page.wait_for_selector("[data-reveal]")
    assert page.inner_text("[data-model-a]").endswith("-synth")
