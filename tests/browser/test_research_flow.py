"""A researcher in a real browser: generate candidates with a local model, train a reward model with a
live progress bar, activate the version and see its scores. Jobs run in the server's process (no
Redis), the embedded default."""

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.chromium import ARTIFACTS, CHROMIUM
from tests.conftest import PASSWORD, run_cli
from tests.support.tiny_lm import build_tiny_lm

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


def test_researcher_generates_trains_activates_and_scores(
    browser: Any, live_server: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    base = live_server
    _campaign_with_votes(cli_env, base, tmp_path)
    model_dir = build_tiny_lm(tmp_path / "tiny-lm")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(base + "/login?next=/campaigns")
    page.fill("input[name=email]", RESEARCHER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/campaigns")

    page.click("text=Generate candidates")
    page.wait_for_url(f"{base}/campaigns/rm/generate")
    page.fill("input[name=system]", "tiny-local")
    page.select_option("select[name=kind]", "transformers")
    page.fill("input[name=path]", str(model_dir))
    page.fill("input[name=max_tokens]", "5")
    page.click("button:has-text('Generate')")
    page.wait_for_url(f"{base}/jobs/*")
    assert _wait_for_job(page) == "succeeded", page.inner_text("#job-detail")
    assert "candidates" in page.inner_text("#job-detail")

    page.goto(base + "/campaigns/rm/reward-models")
    page.click("button:has-text('Train')")
    page.wait_for_url(f"{base}/jobs/*")
    page.wait_for_selector("#job-detail progress")
    assert _wait_for_job(page) == "succeeded", page.inner_text("#job-detail")
    # A flat series (accuracy 1.0 every epoch) draws a zero-height line: present, not "visible".
    page.wait_for_selector("figure.curve svg polyline", state="attached")
    captions = page.inner_text("div.curves")
    assert "train_loss" in captions and "eval_accuracy" in captions and "epoch:" not in captions
    page.screenshot(path=str(ARTIFACTS / "reward-training-job.png"), full_page=True)

    page.goto(base + "/campaigns/rm/reward-models")
    row = page.inner_text("table.versions tbody tr")
    assert row.startswith("v1") and "hashing" in row
    page.click("table.versions button:has-text('Activate')")
    page.wait_for_selector("table.versions .badge:has-text('active')")
    page.click("table.versions button:has-text('Score candidates')")
    page.wait_for_url(f"{base}/jobs/*")
    assert _wait_for_job(page) == "succeeded"
    page.goto(base + "/campaigns/rm/reward-models")
    page.wait_for_selector("table.scores tbody tr")
    assert len(page.query_selector_all("table.scores tbody tr")) == 50
    page.screenshot(path=str(ARTIFACTS / "reward-models.png"), full_page=True)

    page.goto(base + "/jobs")
    assert len(page.query_selector_all("table.jobs tbody tr")) == 3
    page.screenshot(path=str(ARTIFACTS / "jobs.png"), full_page=True)
