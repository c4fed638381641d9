"""In a real browser against `preflab serve`: an annotator who answers the gold item wrong is paused
and reads the campaign's message in place of the next task."""

import json
from pathlib import Path

import httpx
import pytest

from tests.browser.chromium import ARTIFACTS, CHROMIUM
from tests.conftest import BACKEND, PASSWORD, run_cli

sync_api = pytest.importorskip("playwright.sync_api")

ANNOTATOR = "gold-ann@example.org"
ADMIN = "gold-admin@example.org"
MESSAGE = "Paused: your check answers did not match. An administrator will be in touch."

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing"),
]


def _line(item_id: str, role: str = "data") -> dict:
    line: dict = {
        "id": item_id,
        "prompt": f"Which answer to question {item_id} is right?",
        "candidates": [
            {"system": "sys-right", "content": f"The correct answer to {item_id}."},
            {"system": "sys-wrong", "content": f"A wrong answer to {item_id}."},
        ],
    }
    if role != "data":
        line |= {"role": role, "gold_answer": {"winner": "sys-right"}}
    return line


def test_a_wrong_gold_answer_pauses_the_annotator_in_the_browser(
    browser: object, live_server: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    run_cli(cli_env, "user", "add", ANNOTATOR)
    run_cli(cli_env, "user", "add", ADMIN, "--role", "admin")
    token = run_cli(cli_env, "token", "create", ADMIN).stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    r = httpx.post(
        f"{live_server}/api/v1/campaigns", json={"slug": "gold", "name": "Gold check"}, headers=headers
    )
    assert r.status_code == 201, r.text
    items = tmp_path / "gold.jsonl"
    lines = [_line("d1"), _line("d2"), _line("d3"), _line("g1", "gold")]
    items.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    run_cli(cli_env, "import", "gold", str(items))
    quality = {"gold_rate": 1.0, "min_gold_accuracy": 0.5, "min_gold_answers": 1, "pause_message": MESSAGE}
    r = httpx.put(f"{live_server}/api/v1/campaigns/gold/quality-control", json=quality, headers=headers)
    assert r.status_code == 200, r.text

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context().new_page()  # type: ignore[attr-defined]
    page.goto(f"{live_server}/campaigns/gold/task")
    page.fill("input[name=email]", ANNOTATOR)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#vote-form")
    # With gold_rate 1 the first task is the gold item; pick the wrong answer, whichever side it is on.
    wrong_side = page.locator("article.side", has_text="A wrong answer").get_attribute("data-side")
    assert page.locator("article.side", has_text="g1").count() == 2
    page.click(f"button[data-outcome='{wrong_side}']")
    page.wait_for_selector(".task-done")
    held = page.locator("p.held")
    assert held.inner_text() == MESSAGE
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-qc-paused.png"), full_page=True)

    # Reloading shows the same message; the vote was stored.
    response = page.goto(f"{live_server}/campaigns/gold/task")
    assert response is not None and response.status == 403
    assert page.locator("p.held").inner_text() == MESSAGE
    rows = httpx.get(f"{live_server}/api/v1/campaigns/gold/annotators", headers=headers).json()
    assert [(row["status"], row["votes"], row["gold_correct"]) for row in rows] == [("paused", 1, 0)]
