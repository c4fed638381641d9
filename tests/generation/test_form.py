"""The generation page's form: several systems with different providers in one job, and clear 422s."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.errors import Invalid
from app.generation import form
from app.jobs.models import Job
from tests.api_helpers import form_field, sign_in
from tests.factories import make_user, seed_campaign


def test_rows_become_systems_with_their_own_providers() -> None:
    request = form.parse(
        {
            "systems-0-name": "served",
            "systems-0-kind": "openai",
            "systems-0-base_url": "http://gpu-host:8000/v1",
            "systems-0-model": "llama",
            "systems-0-path": "/ignored/for/openai",
            "systems-1-name": "tts",
            "systems-1-kind": "command",
            "systems-1-command": "espeak-ng -w {output} '{prompt}'",
            "systems-1-media_type": "audio/wav",
            "systems-1-output_suffix": ".wav",
            "systems-1-settings": '{"timeout_s": 30, "kind": "openai"}',
            "systems-2-name": "",  # an empty row is skipped
            "systems-3-name": "local",
            "systems-3-kind": "transformers",
            "systems-3-path": "/models/tiny",
            "systems-3-settings": '{"dtype": "bfloat16"}',
            "samples": "2",
            "temperature": "0.3",
            "seed": "",
            "queue": "gpu",
        }
    )
    assert [s.name for s in request.systems] == ["served", "tts", "local"]
    served, tts, local = (s.provider for s in request.systems)
    assert served.kind == "openai" and served.model == "llama"
    # A setting cannot change the row's provider kind.
    assert tts.kind == "command" and tts.argv == ["espeak-ng", "-w", "{output}", "{prompt}"]
    assert tts.media_type == "audio/wav" and tts.timeout_s == 30
    assert local.kind == "transformers" and local.dtype == "bfloat16"
    assert request.params.n == 2 and request.params.temperature == 0.3 and request.params.seed is None
    assert request.queue == "gpu"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "at least one system"),
        ({"systems-0-name": "x", "systems-0-kind": "telepathy"}, "unknown provider"),
        (
            {"systems-0-name": "x", "systems-0-kind": "transformers", "systems-0-settings": "{nope"},
            "not JSON",
        ),
        (
            {"systems-0-name": "x", "systems-0-kind": "transformers", "systems-0-settings": "[1]"},
            "JSON object",
        ),
        (
            {"systems-0-name": "x", "systems-0-kind": "command", "systems-0-command": "say 'unclosed"},
            "cannot be split",
        ),
        ({"systems-0-name": "x", "systems-0-kind": "openai", "systems-0-base_url": "ftp://x"}, "base_url"),
        (
            {
                "systems-0-name": "x",
                "systems-0-kind": "transformers",
                "systems-0-path": "/m",
                "samples": "two",
            },
            "samples",
        ),
        (
            {
                "systems-0-name": "x",
                "systems-0-kind": "transformers",
                "systems-0-path": "/m",
                "systems-1-name": "x",
                "systems-1-kind": "transformers",
                "systems-1-path": "/n",
            },
            "distinct",
        ),
    ],
)
def test_bad_rows_are_named_in_the_error(fields: dict[str, str], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        form.parse(fields)


def test_the_page_submits_two_systems_as_one_job(client: TestClient, session: Session) -> None:
    seed_campaign(session, n_items=2)
    make_user(session, "res@example.org", Role.researcher)
    session.commit()
    sign_in(client, "res@example.org")
    page = client.get("/campaigns/demo/generate")
    assert page.status_code == 200 and 'name="systems-7-name"' in page.text
    fields = {
        "csrf_token": form_field(page.text, "csrf_token"),
        "systems-0-name": "one",
        "systems-0-kind": "transformers",
        "systems-0-path": "/nowhere/one",
        "systems-1-name": "two",
        "systems-1-kind": "command",
        "systems-1-command": "echo {prompt}",
        "samples": "1",
        "max_tokens": "4",
    }
    bad = client.post(
        "/campaigns/demo/generate", data={**fields, "systems-1-settings": "{"}, follow_redirects=False
    )
    assert bad.status_code == 422 and "not JSON" in bad.text
    assert session.scalars(select(Job)).all() == []
    session.rollback()  # on SQLite an open transaction holds the write lock
    r = client.post("/campaigns/demo/generate", data=fields, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/"), r.text
    job = session.scalars(select(Job)).one()
    assert [s["name"] for s in job.params["systems"]] == ["one", "two"]
    assert job.params["systems"][1]["provider"]["argv"] == ["echo", "{prompt}"]
