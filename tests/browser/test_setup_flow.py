"""A researcher in a real browser sets up a campaign of a new task kind: the new-campaign form with its
own rubric, the setup page, a file import, then an annotator rates an output on that rubric."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chromium import ARTIFACTS, CHROMIUM
from tests.conftest import PASSWORD, run_cli

pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]


def _login(page: Any, base: str, email: str, then: str) -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{then}")


def test_a_researcher_sets_up_a_rating_campaign_and_an_annotator_rates_on_its_rubric(
    browser: Any, live_server: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    run_cli(cli_env, "user", "add", "res@example.org", "--role", "researcher")
    run_cli(cli_env, "user", "add", "ann@example.org")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    _login(page, live_server, "res@example.org", "/campaigns")
    page.click("text=New campaign")
    page.wait_for_url(f"{live_server}/campaigns/new")
    page.fill("input[name=slug]", "clarity")
    page.fill("input[name=name]", "Clarity ratings")
    page.check("input[name=task_kind][value=rating]")
    page.fill("input[name=aspect-0-name]", "clarity")
    page.fill("input[name=aspect-0-description]", "Easy to follow?")
    page.fill("input[name=aspect-0-min]", "1")
    page.fill("input[name=aspect-0-max]", "3")
    page.fill("input[name=aspect-0-anchors]", "1=muddled; 3=clear")
    page.screenshot(path=str(ARTIFACTS / "setup-new-campaign.png"), full_page=True)
    page.click("button:has-text('Create campaign')")
    page.wait_for_url(f"{live_server}/campaigns/clarity/setup")
    assert "Version 1" in page.inner_text("main") and "muddled" in page.inner_text("main")

    items = tmp_path / "items.jsonl"
    items.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"q{i}",
                    "prompt": f"Explain {i}",
                    "candidates": [{"system": "s", "content": f"It is {i}."}],
                }
            )
            for i in range(2)
        )
    )
    page.set_input_files("input[name=file]", str(items))
    page.click("button:has-text('Import')")
    page.wait_for_selector("text=2 new items")
    page.screenshot(path=str(ARTIFACTS / "setup-imported.png"), full_page=True)

    annotator = browser.new_page(viewport={"width": 1200, "height": 900})
    _login(annotator, live_server, "ann@example.org", "/campaigns/clarity/task")
    annotator.wait_for_selector("text=Easy to follow?")
    assert "s" not in annotator.inner_text(".side-name")
    annotator.keyboard.press("3")
    annotator.keyboard.press("Control+Enter")
    annotator.wait_for_selector("text=1 done")
    page.goto(f"{live_server}/campaigns/clarity/setup")
    assert "used by votes, frozen" in page.inner_text("main")
