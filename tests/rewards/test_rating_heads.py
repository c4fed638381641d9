"""Regression and joint reward heads on a campaign's own ratings (a pairwise campaign with a rubric)."""

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.campaigns.models import Campaign
from app.items.service import import_items
from app.rewards import training_data
from app.tasks.schemas import TaskAnswer
from app.voting import service as voting_service
from app.voting.schemas import VoteCreate
from tests.api_helpers import bearer, wait_for_job
from tests.factories import item_lines, make_campaign, make_user


def _rated_campaign(session: Session, n_items: int) -> Campaign:
    """Every vote prefers the longer answer and rates it 4 on helpfulness, the shorter 1."""
    campaign = make_campaign(session, rubric={"aspects": [{"name": "helpfulness"}]})
    import_items(session, campaign=campaign, lines=item_lines(n_items))
    annotator = make_user(session, "ann@example.org")
    session.commit()
    while (
        task := voting_service.next_assignment(session, campaign=campaign, annotator=annotator)
    ) is not None:
        a, b = task.candidates
        a_wins = len(a.content) > len(b.content)
        ratings = {"a": {"helpfulness": 4 if a_wins else 1}, "b": {"helpfulness": 1 if a_wins else 4}}
        voting_service.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=annotator,
            data=VoteCreate(outcome="a" if a_wins else "b", answer=TaskAnswer(ratings=ratings)),
            idempotency_key=None,
        )
        session.commit()
    return campaign


def test_rated_outputs_become_training_rows(session: Session) -> None:
    campaign = _rated_campaign(session, n_items=3)
    rows = list(training_data.iter_rated_responses(session, campaign=campaign))
    assert len(rows) == 6 and training_data.has_ratings(session, campaign=campaign)
    longer = [r for r in rows if r["ratings"]["helpfulness"] == 4.0]
    shorter = [r for r in rows if r["ratings"]["helpfulness"] == 1.0]
    assert len(longer) == len(shorter) == 3
    assert all(
        len(long["response"]) > len(short["response"]) for long, short in zip(longer, shorter, strict=True)
    )


def test_the_joint_head_trains_on_the_campaigns_ratings_and_preferences(
    client: TestClient, session: Session
) -> None:
    _rated_campaign(session, n_items=24)
    researcher = bearer(session, "res@example.org", Role.researcher)
    r = client.post(
        "/api/v1/campaigns/demo/reward-models",
        json={"encoder": "hashing", "head": "joint", "epochs": 3},
        headers=researcher,
    )
    assert r.status_code == 202, r.text
    job = wait_for_job(client, researcher, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    (model,) = client.get("/api/v1/campaigns/demo/reward-models", headers=researcher).json()
    assert model["data_snapshot"]["n_rated"] == 48 and model["data_snapshot"]["n_pairs"] == 24
    saved = json.loads((Path(model["artifact_path"]) / "config.json").read_text())
    assert saved["aspects"] == ["helpfulness"] and saved["train"]["head"] == "joint"
