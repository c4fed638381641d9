"""Exports: pairwise majorities for TRL, every vote with provenance, and a dataset card."""

import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import User
from app.exports import service
from app.exports.release import export_campaign
from app.voting import service as voting
from app.voting.schemas import VoteCreate
from tests.factories import make_user, seed_campaign


def _vote(session: Session, campaign, user: User, outcome: str, strength: int | None = None) -> None:
    task = voting.next_assignment(session, campaign=campaign, annotator=user)
    assert task is not None
    # Vote for a fixed candidate whatever side it was shown on, so tallies are predictable.
    side = outcome
    if outcome in ("first", "second"):
        first_id = _first_candidate_public_id(session, task.assignment_id)
        shown_first = task.candidates[0].id == first_id
        side = "a" if (outcome == "first") == shown_first else "b"
    voting.cast_vote(
        session,
        assignment_id=task.assignment_id,
        annotator=user,
        data=VoteCreate(outcome=side, strength=strength, rationale=f"{user.email} {outcome}"),
        idempotency_key=None,
    )
    session.commit()


def _first_candidate_public_id(session: Session, assignment_id: str) -> str:
    from app.items.models import Candidate, Comparison
    from app.voting.models import Assignment

    a = session.query(Assignment).filter_by(public_id=assignment_id).one()
    comparison = session.get_one(Comparison, a.comparison_id)
    return session.get_one(Candidate, comparison.candidate_a_id).public_id


def _three_voters(session: Session):
    campaign = seed_campaign(session, n_items=3, overlap=3, license="cc-by-4.0")
    users = [make_user(session, f"u{i}@example.org") for i in range(3)]
    session.commit()
    # comparison 1: first, first, second -> first chosen (2/3)
    # comparison 2: tie, tie, first      -> no pair (tie is the plurality)
    # comparison 3: second, both_bad, first -> no pair (no strict plurality)
    plan = [("first", "tie", "second"), ("first", "tie", "both_bad"), ("second", "first", "first")]
    for user, outcomes in zip(users, plan, strict=True):
        for outcome in outcomes:
            _vote(session, campaign, user, outcome, 2 if outcome in ("first", "second") else None)
    return campaign


def test_pairwise_rows_follow_the_strict_plurality(session: Session) -> None:
    campaign = _three_voters(session)
    rows = list(service.iter_pairwise_rows(session, campaign=campaign))
    assert len(rows) == 1
    row = rows[0]
    assert row["chosen_system"] == "alpha-7b" and row["rejected_system"] == "beta-13b"
    assert row["n_votes"] == 3 and row["agreement"] == round(2 / 3, 4) and row["strength"] == 2.0
    assert row["prompt"].startswith("Question 0") and row["chosen"].startswith("Answer 0")
    votes = list(service.iter_vote_rows(session, campaign=campaign))
    assert len(votes) == 9
    assert {v["outcome"] for v in votes} == {"preference", "tie", "both_bad"}
    assert all(v["annotator"].startswith("ann_") and "@" not in json.dumps(v["annotator"]) for v in votes)
    summary = service.agreement_summary(session, campaign=campaign)
    assert summary["units_with_2plus_votes"] == 3
    # Pairs agreeing: (c1) 1 of 3, (c2) 1 of 3, (c3) 0 of 3 -> 2 of 9.
    assert summary["pairwise_agreement"] == round(2 / 9, 4)
    # Coincidences by hand: n = 9, disagreeing o = 7, sum n_c^2 = 25 -> alpha = 1 - 8 * 7 / 56 = 0.
    assert summary["krippendorff_alpha_nominal"] == 0.0


def test_krippendorff_alpha_is_one_for_perfect_agreement(session: Session) -> None:
    campaign = seed_campaign(session, n_items=4, overlap=2)
    users = [make_user(session, f"p{i}@example.org") for i in range(2)]
    session.commit()
    for user in users:
        for outcome in ("first", "second", "first", "tie"):
            _vote(session, campaign, user, outcome)
    assert service.agreement_summary(session, campaign=campaign)["krippendorff_alpha_nominal"] == 1.0


def test_export_files_load_with_datasets(session: Session, tmp_path: Path) -> None:
    campaign = _three_voters(session)
    for fmt, n in (("pairwise", 1), ("votes", 9)):
        out = tmp_path / fmt
        result = export_campaign(session, campaign=campaign, fmt=fmt, out=out)
        assert result.rows == n
        ds = datasets.load_dataset("parquet", data_files=str(out / "data.parquet"), split="train")
        assert ds.num_rows == n
        assert len((out / "data.jsonl").read_text().splitlines()) == n
        card = (out / "README.md").read_text()
        assert "license: cc-by-4.0" in card and "Krippendorff" in card and f"| rows | {n} |" in card
    pairwise = pq.read_table(tmp_path / "pairwise" / "data.parquet")
    assert {
        "prompt",
        "chosen",
        "rejected",
        "chosen_system",
        "rejected_system",
        "strength",
        "n_votes",
        "agreement",
        "item_id",
    } <= set(pairwise.column_names)


def test_empty_campaign_exports_an_empty_but_valid_file(session: Session, tmp_path: Path) -> None:
    campaign = seed_campaign(session, n_items=1)
    result = export_campaign(session, campaign=campaign, fmt="pairwise", out=tmp_path)
    assert result.rows == 0 and pq.read_table(tmp_path / "data.parquet").num_rows == 0


def test_export_endpoint_streams_json_lines(client: TestClient, session: Session) -> None:
    from app.auth.models import Role
    from tests.api_helpers import bearer

    _three_voters(session)
    admin = bearer(session, "boss@example.org", Role.admin)
    r = client.get("/api/v1/campaigns/demo/export", params={"format": "votes"}, headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    assert len([json.loads(x) for x in r.text.splitlines()]) == 9
    r = client.get("/api/v1/campaigns/demo/export", params={"format": "pairwise"}, headers=admin)
    assert [json.loads(x)["chosen_system"] for x in r.text.splitlines()] == ["alpha-7b"]
    assert (
        client.get("/api/v1/campaigns/demo/export", params={"format": "xml"}, headers=admin).status_code
        == 422
    )
