"""LM-judge votes (annotators of kind model): kept apart from human votes in training data and exports,
included in reward-model training only when asked, and weighted."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User, UserKind
from app.auth.service import authenticate, create_user, set_password
from app.campaigns.models import Campaign
from app.errors import Invalid
from app.exports.service import iter_pairwise_rows, iter_vote_rows
from app.jobs.models import Job
from app.rewards import training_data
from app.voting import service as voting_service
from app.voting.schemas import VoteCreate
from tests.api_helpers import bearer
from tests.conftest import run_cli
from tests.factories import make_user, seed_campaign


def _vote_all(session: Session, campaign: Campaign, annotator: User, *, prefer_longer: bool) -> int:
    n = 0
    while (
        task := voting_service.next_assignment(session, campaign=campaign, annotator=annotator)
    ) is not None:
        a, b = task.candidates
        a_longer = len(a.content) > len(b.content)
        voting_service.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=annotator,
            data=VoteCreate(outcome="a" if a_longer == prefer_longer else "b", strength=3),
            idempotency_key=None,
        )
        session.commit()
        n += 1
    return n


@pytest.fixture
def judged_campaign(session: Session) -> Campaign:
    """Six items voted by a person (longer wins) and by an LM judge (shorter wins): they always disagree."""
    campaign = seed_campaign(session, n_items=6, overlap=2)
    person = make_user(session, "ann@example.org")
    judge = create_user(
        session, email="judge@models.example", password=None, role=Role.annotator, kind=UserKind.model
    )
    session.commit()
    assert _vote_all(session, campaign, person, prefer_longer=True) == 6
    assert _vote_all(session, campaign, judge, prefer_longer=False) == 6
    return campaign


def test_a_model_annotator_has_no_usable_password_and_cannot_sign_in(session: Session) -> None:
    judge = create_user(
        session, email="judge@models.example", password=None, role=Role.annotator, kind=UserKind.model
    )
    assert judge.kind == UserKind.model and judge.password_hash
    # Even with a password somebody set, a model never signs in.
    set_password(session, user=judge, password="a password somebody knows")
    assert authenticate(session, email="judge@models.example", password="a password somebody knows") is None
    with pytest.raises(Invalid, match="annotator role"):
        create_user(session, email="boss@models.example", password=None, role=Role.admin, kind=UserKind.model)
    with pytest.raises(Invalid, match="password"):
        create_user(session, email="person@example.org", password=None, role=Role.annotator)


def test_training_pairs_leave_judge_votes_out_unless_asked_and_weight_them(
    session: Session, judged_campaign: Campaign
) -> None:
    human_only = list(training_data.iter_preference_pairs(session, campaign=judged_campaign))
    assert len(human_only) == 6 and {p["source"] for p in human_only} == {"human"}
    assert all(len(p["chosen"]) > len(p["rejected"]) for p in human_only)

    both = list(
        training_data.iter_preference_pairs(
            session, campaign=judged_campaign, include_judge=True, judge_weight=0.25, weight_by_strength=True
        )
    )
    judged = [p for p in both if p["source"] == "model"]
    assert len(both) == 12 and len(judged) == 6
    assert all(len(p["chosen"]) < len(p["rejected"]) for p in judged)
    # Strength 3 weighs 2.0; the judge's votes are then scaled by judge_weight.
    assert {p["weight"] for p in both if p["source"] == "human"} == {2.0}
    assert {p["weight"] for p in judged} == {0.5}
    snapshot = training_data.snapshot(both)
    assert (snapshot["n_pairs"], snapshot["n_human"], snapshot["n_model"]) == (12, 6, 6)
    assert training_data.preference_votes_by_kind(session, campaign=judged_campaign) == {
        "human": 6,
        "model": 6,
    }


def test_exports_mark_judge_votes_and_the_pairwise_dataset_counts_people_only(
    session: Session, judged_campaign: Campaign
) -> None:
    rows = list(iter_vote_rows(session, campaign=judged_campaign))
    assert sorted(r["annotator_kind"] for r in rows) == ["human"] * 6 + ["model"] * 6
    for row in rows:
        chosen = row["shown_a"] if row["winner_side"] == "a" else row["shown_b"]
        other = row["shown_b"] if row["winner_side"] == "a" else row["shown_a"]
        assert (len(chosen) > len(other)) == (row["annotator_kind"] == "human")
    pairs = list(iter_pairwise_rows(session, campaign=judged_campaign))
    # With the judge counted, every comparison would be a 1-1 split and drop out.
    assert len(pairs) == 6 and all(p["n_votes"] == 1 and p["agreement"] == 1.0 for p in pairs)
    assert all(len(p["chosen"]) > len(p["rejected"]) for p in pairs)


def test_regression_and_joint_heads_are_refused_for_campaign_votes(
    client: TestClient, session: Session, judged_campaign: Campaign
) -> None:
    researcher = bearer(session, "res@example.org", Role.researcher)
    for head in ("regression", "joint"):
        r = client.post("/api/v1/campaigns/demo/reward-models", json={"head": head}, headers=researcher)
        assert r.status_code == 422 and "ratings" in r.json()["detail"], r.text
    assert session.scalars(select(Job)).all() == []


def test_cli_and_api_create_model_annotators_who_vote_with_a_token(
    client: TestClient, session: Session, cli_env: dict[str, str]
) -> None:
    seed_campaign(session, n_items=2)
    out = run_cli(cli_env, "user", "add", "gpt-judge@models.example", "--kind", "model").stdout
    assert "created model annotator gpt-judge@models.example" in out
    bad = run_cli(cli_env, "user", "add", "x@models.example", "--kind", "robot", check=False)
    assert bad.returncode != 0 and "use human or model" in bad.stderr
    token = run_cli(cli_env, "token", "create", "gpt-judge@models.example").stdout.strip()
    judge = {"Authorization": f"Bearer {token}"}
    task = client.get("/api/v1/campaigns/demo/next", headers=judge)
    assert task.status_code == 200, task.text
    vote = client.post(
        f"/api/v1/assignments/{task.json()['assignment_id']}/vote",
        json={"outcome": "a"},
        headers={**judge, "Idempotency-Key": "judge-1"},
    )
    assert vote.status_code == 201, vote.text
    admin = bearer(session, "admin@example.org", Role.admin)
    r = client.post("/api/v1/users", json={"email": "judge2@models.example", "kind": "model"}, headers=admin)
    assert r.status_code == 201 and r.json()["kind"] == "model", r.text
    r = client.post(
        "/api/v1/users",
        json={"email": "judge3@models.example", "kind": "model", "password": "a long password here"},
        headers=admin,
    )
    assert r.status_code == 422 and "API token" in r.text
    r = client.post("/api/v1/users", json={"email": "p@example.org"}, headers=admin)
    assert r.status_code == 422 and "password is required" in r.text

    votes = client.get("/api/v1/campaigns/demo/votes", headers=admin)
    assert votes.status_code == 200, votes.text
    assert [v["annotator_kind"] for v in votes.json()] == ["model"]


def test_preflab_votes_file_with_one_system_on_both_sides(tmp_path) -> None:
    """Two samples of one system: the side, not the system name, says which text won."""
    from workers.ml.reward.data import load_pairs

    base = {"prompt": "p", "outcome": "preference", "annotator_kind": "human", "item_id": "i1"}
    rows = [
        base
        | {
            "shown_a_system": "s",
            "shown_b_system": "s",
            "shown_a": "first",
            "shown_b": "second",
            "winner_system": "s",
            "loser_system": "s",
            "winner_side": "b",
        },
        # An export from before winner_side: with one system on both sides it cannot be read, so skipped.
        base
        | {
            "shown_a_system": "s",
            "shown_b_system": "s",
            "shown_a": "x",
            "shown_b": "y",
            "winner_system": "s",
            "loser_system": "s",
        },
        base
        | {
            "shown_a_system": "s",
            "shown_b_system": "t",
            "shown_a": "from s",
            "shown_b": "from t",
            "winner_system": "t",
            "loser_system": "s",
        },
    ]
    path = tmp_path / "votes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs = load_pairs(path, "preflab-votes")
    assert [(p.chosen, p.rejected) for p in pairs] == [("second", "first"), ("from t", "from s")]
