"""A researcher in a real browser: generate candidates from two systems (a local model and an
OpenAI-compatible server) in one job, train two reward-model versions with a live progress bar,
compare them, activate one and see its scores. Twice: with jobs in the server's process (no Redis,
the embedded default) and with a real Celery worker on Redis."""

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.chromium import ARTIFACTS, CHROMIUM
from tests.conftest import PASSWORD, run_cli, serving
from tests.support.openai_server import OpenAIServer

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]
RESEARCHER = "res@example.org"


def _campaign_with_votes(cli_env: dict[str, str], base: str, tmp_path: Path) -> None:
    run_cli(cli_env, "user", "add", RESEARCHER, "--role", "researcher")
    run_cli(cli_env, "user", "add", "ann@example.org")
    admin = {"Authorization": f"Bearer {run_cli(cli_env, 'token', 'create', RESEARCHER).stdout.strip()}"}
    annotator = {
        "Authorization": f"Bearer {run_cli(cli_env, 'token', 'create', 'ann@example.org').stdout.strip()}"
    }
    body = {"slug": "rm", "name": "Reward study", "task_kind": "pairwise", "modality": "text", "overlap": 1}
    assert httpx.post(f"{base}/api/v1/campaigns", json=body, headers=admin).status_code == 201
    items = tmp_path / "items.jsonl"
    items.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"q{i}",
                    "prompt": f"question {i}: is the sky blue ?",
                    "candidates": [
                        {
                            "system": "careful",
                            "content": f"yes the sky is blue because of scattering, case {i}",
                        },
                        {"system": "terse", "content": f"no {i}"},
                    ],
                }
            )
            + "\n"
            for i in range(24)
        )
    )
    run_cli(cli_env, "import", "rm", str(items))
    while (r := httpx.get(f"{base}/api/v1/campaigns/rm/next", headers=annotator)).status_code == 200:
        task = r.json()
        longer = "a" if len(task["candidates"][0]["content"]) > len(task["candidates"][1]["content"]) else "b"
        vote = httpx.post(
            f"{base}/api/v1/assignments/{task['assignment_id']}/vote",
            json={"outcome": longer, "strength": 2},
            headers={**annotator, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert vote.status_code == 201


def _wait_for_job(page: Any, timeout_ms: int = 90_000) -> str:
    """On a job page: waits until the job finished and returns its status."""
    page.wait_for_selector("#job-detail .badge")
    page.wait_for_function(
        "() => ['succeeded', 'failed', 'cancelled']"
        ".includes(document.querySelector('#job-detail .badge').textContent.trim())",
        timeout=timeout_ms,
    )
    return page.inner_text("#job-detail .badge").strip()


@pytest.fixture(params=["in-process", "celery"])
def research_server(request: pytest.FixtureRequest, cli_env: dict[str, str], tmp_path: Path) -> Any:
    """The server, with jobs in its own process or on a real worker (skipped without Redis)."""
    env = cli_env if request.param == "in-process" else request.getfixturevalue("worker")
    with serving(env, tmp_path / "serve.log") as base:
        yield base, request.param


def _train(page: Any, base: str, *, epochs: int, weight_by_strength: bool) -> None:
    page.goto(base + "/campaigns/rm/reward-models")
    page.fill("input[name=epochs]", str(epochs))
    if weight_by_strength:
        page.check("input[name=weight_by_strength]")
    page.click("button:has-text('Train')")
    page.wait_for_url(f"{base}/jobs/*")
    page.wait_for_selector("#job-detail progress")
    assert _wait_for_job(page) == "succeeded", page.inner_text("#job-detail")


def test_researcher_generates_trains_compares_activates_and_scores(
    browser: Any,
    research_server: tuple[str, str],
    cli_env: dict[str, str],
    tmp_path: Path,
    tiny_lm: Path,
    openai_server: OpenAIServer,
) -> None:
    base, mode = research_server
    _campaign_with_votes(cli_env, base, tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(base + "/login?next=/campaigns")
    page.fill("input[name=email]", RESEARCHER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/campaigns")

    page.click("text=Generate candidates")
    page.wait_for_url(f"{base}/campaigns/rm/generate")
    page.fill("input[name=systems-0-name]", "tiny-local")
    page.select_option("select[name=systems-0-kind]", "transformers")
    # Only the chosen provider's fields show.
    assert page.is_visible("input[name=systems-0-path]") and not page.is_visible(
        "input[name=systems-0-base_url]"
    )
    page.fill("input[name=systems-0-path]", str(tiny_lm))
    assert not page.is_visible("input[name=systems-1-name]")
    page.click("button:has-text('Add a system')")
    page.fill("input[name=systems-1-name]", "served")
    page.select_option("select[name=systems-1-kind]", "openai")
    page.fill("input[name=systems-1-base_url]", openai_server.base_url)
    page.fill("input[name=systems-1-model]", "tiny")
    page.fill("input[name=max_tokens]", "5")
    page.screenshot(path=str(ARTIFACTS / f"generate-form-{mode}.png"), full_page=True)
    page.click("button:has-text('Generate')")
    page.wait_for_url(f"{base}/jobs/*")
    assert _wait_for_job(page) == "succeeded", page.inner_text("#job-detail")
    assert "candidates" in page.inner_text("#job-detail")
    assert '"served"' in page.inner_text("#job-detail") and '"tiny-local"' in page.inner_text("#job-detail")

    _train(page, base, epochs=2, weight_by_strength=False)
    # A flat series (accuracy 1.0 every epoch) draws a zero-height line: present, not "visible".
    page.wait_for_selector("figure.curve svg polyline", state="attached")
    captions = page.inner_text("div.curves")
    assert "train_loss" in captions and "eval_accuracy" in captions and "epoch:" not in captions
    page.screenshot(path=str(ARTIFACTS / f"reward-training-job-{mode}.png"), full_page=True)
    _train(page, base, epochs=6, weight_by_strength=True)

    page.goto(base + "/campaigns/rm/reward-models")
    rows = page.query_selector_all("table.versions tbody tr")
    assert [r.inner_text().split()[0] for r in rows] == ["v2", "v1"]
    page.click("form.compare button:has-text('Compare')")
    page.wait_for_url(f"{base}/campaigns/rm/reward-models/compare*")
    changed = page.inner_text("table.compare")
    assert "epochs" in changed and "weight_by_strength" in changed
    assert "Both versions trained on the same pairs" in page.inner_text("p.same-data")
    page.wait_for_selector("polyline.version-a", state="attached")
    assert page.query_selector_all("polyline.version-b")
    page.screenshot(path=str(ARTIFACTS / f"reward-compare-{mode}.png"), full_page=True)

    page.goto(base + "/campaigns/rm/reward-models")
    page.click("table.versions tbody tr:first-child button:has-text('Activate')")
    page.wait_for_selector("table.versions tbody tr:first-child .badge:has-text('active')")
    page.click("table.versions tbody tr:first-child button:has-text('Score candidates')")
    page.wait_for_url(f"{base}/jobs/*")
    assert _wait_for_job(page) == "succeeded"
    page.goto(base + "/campaigns/rm/reward-models")
    page.wait_for_selector("table.scores tbody tr")
    assert len(page.query_selector_all("table.scores tbody tr")) == 50
    assert {"tiny-local", "served"} & set(page.inner_text("table.scores").split())
    page.screenshot(path=str(ARTIFACTS / f"reward-models-{mode}.png"), full_page=True)

    page.goto(base + "/jobs")
    assert len(page.query_selector_all("table.jobs tbody tr")) == 4  # generate, train twice, score
    page.screenshot(path=str(ARTIFACTS / f"jobs-{mode}.png"), full_page=True)
