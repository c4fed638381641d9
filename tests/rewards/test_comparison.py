"""Two reward-model versions side by side: data, settings, metric deltas, agreement with the votes
(overall and on votes cast after training), and how alike they score."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.campaigns.models import Campaign
from app.items.models import Candidate, Item
from app.rewards import service
from app.rewards.models import RewardModel
from tests.api_helpers import bearer, sign_in
from tests.factories import make_user, seed_campaign
from tests.rewards.test_judge_votes import _vote_all

CURVE_A = [
    {"step": 1, "train_loss": 0.7, "eval_accuracy": 0.5},
    {"step": 2, "train_loss": 0.5, "eval_accuracy": 0.7},
]
CURVE_B = [
    {"step": 1, "train_loss": 0.6, "eval_accuracy": 0.6},
    {"step": 3, "train_loss": 0.3, "eval_accuracy": 0.8},
]


def _version(
    session: Session, campaign: Campaign, *, epochs: int, accuracy: float, sha: str, curve, sign: float
) -> RewardModel:
    """A stored version whose scores rank candidates by length (sign 1) or against it (sign -1)."""
    model = service.record_version(
        session,
        campaign_id=campaign.id,
        job=None,
        config={"encoder": "hashing", "head": "bt", "epochs": epochs},
        data_snapshot={"n_pairs": 6, "n_items": 6, "n_train": 5, "n_held_out": 1, "sha256": sha},
        metrics={"accuracy": accuracy, "log_loss": 0.6, "n": 1},
        curve=curve,
        artifact_path="/nowhere",
    )
    rows = session.execute(
        select(Candidate.id, Candidate.content).join(Item).where(Item.campaign_id == campaign.id)
    ).all()
    service.store_scores(session, model=model, scores={cid: sign * len(text) for cid, text in rows})
    session.commit()
    return model


@pytest.fixture
def two_versions(session: Session) -> tuple[Campaign, RewardModel, RewardModel, User]:
    campaign = seed_campaign(session, n_items=6, overlap=2)
    early = make_user(session, "early@example.org")
    session.commit()
    _vote_all(session, campaign, early, prefer_longer=True)
    a = _version(session, campaign, epochs=3, accuracy=0.6, sha="a" * 64, curve=CURVE_A, sign=1.0)
    b = _version(session, campaign, epochs=8, accuracy=0.75, sha="a" * 64, curve=CURVE_B, sign=-1.0)
    late = make_user(session, "late@example.org")
    session.commit()
    _vote_all(session, campaign, late, prefer_longer=True)
    return campaign, a, b, late


def test_compare_reports_changes_deltas_agreement_and_correlation(
    client: TestClient, session: Session, two_versions
) -> None:
    _, a, b, _ = two_versions
    researcher = bearer(session, "res@example.org", Role.researcher)
    r = client.get(f"/api/v1/reward-models/{a.public_id}/compare/{b.public_id}", headers=researcher)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["same_data"] is True
    assert body["config_changes"] == [{"key": "epochs", "a": 3, "b": 8}]
    assert body["metric_deltas"]["accuracy"] == pytest.approx(0.15) and body["metric_deltas"]["log_loss"] == 0
    # Every vote went to the longer answer: a (longer scores higher) always agrees, b never does.
    assert body["agreement_a"] == {"all_votes": 1.0, "n_all": 12, "since_training": 1.0, "n_since": 6}
    assert body["agreement_b"] == {"all_votes": 0.0, "n_all": 12, "since_training": 0.0, "n_since": 6}
    assert body["score_correlation"] == pytest.approx(-1.0) and body["n_scored_by_both"] == 12

    annotator = bearer(session, "ann@example.org")
    assert (
        client.get(
            f"/api/v1/reward-models/{a.public_id}/compare/{b.public_id}", headers=annotator
        ).status_code
        == 403
    )
    r = client.get(f"/api/v1/reward-models/{a.public_id}/compare/nope", headers=researcher)
    assert r.status_code == 404


def test_versions_of_different_campaigns_are_not_compared(
    client: TestClient, session: Session, two_versions
) -> None:
    _, a, _, _ = two_versions
    other = seed_campaign(session, slug="other", n_items=2)
    c = _version(session, other, epochs=1, accuracy=0.5, sha="c" * 64, curve=[], sign=1.0)
    researcher = bearer(session, "res@example.org", Role.researcher)
    r = client.get(f"/api/v1/reward-models/{a.public_id}/compare/{c.public_id}", headers=researcher)
    assert r.status_code == 422 and "different campaigns" in r.json()["detail"]


def test_compare_page_shows_both_versions_on_shared_axes(
    client: TestClient, session: Session, two_versions
) -> None:
    _, a, b, _ = two_versions
    make_user(session, "res@example.org", Role.researcher)
    session.commit()
    sign_in(client, "res@example.org")
    listing = client.get("/campaigns/demo/reward-models")
    assert listing.status_code == 200 and 'action="/campaigns/demo/reward-models/compare"' in listing.text
    page = client.get(f"/campaigns/demo/reward-models/compare?a={a.public_id}&b={b.public_id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "v1" in html and "v2" in html and 'class="changed"' in html and "epochs" in html
    assert html.count('<polyline class="version-a"') == 2 and html.count('<polyline class="version-b"') == 2
    assert '<strong class="correlation">-1.000</strong>' in html
    assert "Both versions trained on the same pairs" in html
    missing = client.get(f"/campaigns/demo/reward-models/compare?a={a.public_id}")
    assert missing.status_code == 422
