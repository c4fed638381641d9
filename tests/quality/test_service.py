"""A seeded campaign's quality numbers: three annotators who pick the longer answer, one who always
clicks A; both database backends."""

import json

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign
from app.errors import Invalid
from app.exports import service as exports
from app.items.service import import_items
from app.quality import service
from app.voting import service as voting
from app.voting.models import Vote
from app.voting.schemas import VoteCreate
from tests.factories import make_campaign, make_user, seed_campaign

N_ITEMS = 24


def _vote_all(session: Session, campaign: Campaign, user: User, choose) -> None:
    while (task := voting.next_assignment(session, campaign=campaign, annotator=user)) is not None:
        a, b = task.candidates
        outcome, strength, flags = choose(a.content, b.content)
        voting.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=user,
            data=VoteCreate(outcome=outcome, strength=strength, flags=flags),
            idempotency_key=None,
        )
        session.commit()


def _longer(a: str, b: str) -> tuple[str, int, dict]:
    return ("a" if len(a) > len(b) else "b"), 2, {}


def _always_a(a: str, b: str) -> tuple[str, int, dict]:
    return "a", 3, {}


def _longer_but_flag_it(a: str, b: str) -> tuple[str, int, dict]:
    side = "a" if len(a) > len(b) else "b"
    return side, 1, {side: ["incorrect"]}


@pytest.fixture
def seeded(session: Session) -> tuple[Campaign, dict[str, User]]:
    campaign = make_campaign(session, overlap=4)
    # The longer answer comes first in half the items, so "first" and "second" are both common.
    lines = [
        json.dumps(
            {
                "id": f"q{i}",
                "prompt": f"Question {i}",
                "candidates": [
                    {"system": "short", "content": f"Answer {i}."},
                    {"system": "long", "content": f"A longer answer {i}, with more words in it."},
                ][:: 1 if i % 2 else -1],
            }
        )
        for i in range(N_ITEMS)
    ]
    import_items(session, campaign=campaign, lines=lines)
    users = {name: make_user(session, f"{name}@example.org") for name in ("h1", "h2", "h3", "clicker")}
    session.commit()
    _vote_all(session, campaign, users["h1"], _longer)
    _vote_all(session, campaign, users["h2"], _longer)
    _vote_all(session, campaign, users["h3"], _longer_but_flag_it)
    _vote_all(session, campaign, users["clicker"], _always_a)
    # The clicker also answered in under a second each time.
    session.execute(update(Vote).where(Vote.annotator_id == users["clicker"].id).values(time_on_task_ms=300))
    session.execute(
        update(Vote).where(Vote.annotator_id != users["clicker"].id).values(time_on_task_ms=20_000 + Vote.id)
    )
    session.commit()
    return campaign, users


def test_campaign_quality_overall_numbers(session: Session, seeded) -> None:
    campaign, _ = seeded
    quality = service.campaign_quality(session, campaign=campaign)
    assert quality["campaign"] == "demo"
    assert quality["votes"] == 4 * N_ITEMS and quality["annotators"] == 4
    assert quality["comparisons"] == quality["comparisons_with_2plus_votes"] == N_ITEMS
    # The nominal alpha and percent agreement are the ones the dataset card prints.
    summary = exports.agreement_summary(session, campaign=campaign)
    assert quality["agreement"]["alpha_nominal"] == summary["krippendorff_alpha_nominal"]
    assert quality["agreement"]["pairwise_agreement"] == summary["pairwise_agreement"]
    assert quality["agreement"]["alpha_ordinal_graded"] is not None
    # Every vote is a preference; the honest three always chose the longer answer.
    assert quality["length_bias"]["n"] == 4 * N_ITEMS
    assert quality["length_bias"]["k"] >= 3 * N_ITEMS
    assert quality["position_bias"]["k"] >= N_ITEMS
    assert quality["time_on_task"]["too_fast"] == N_ITEMS and quality["time_on_task"]["too_slow"] == 0
    # h3 preferred the side they flagged each time.
    assert quality["flag_consistency"]["agreeing"] == {
        "k": 0,
        "n": N_ITEMS,
        "rate": 0.0,
        "low": 0.0,
        "high": quality["flag_consistency"]["agreeing"]["high"],
        "p_value": quality["flag_consistency"]["agreeing"]["p_value"],
    }
    assert quality["reliability"]["dawid_skene"]["converged"]
    assert quality["reliability"]["crowd_bt"]["votes"] == 4 * N_ITEMS


def test_campaign_quality_per_annotator_flags_the_clicker(session: Session, seeded) -> None:
    campaign, users = seeded
    quality = service.campaign_quality(session, campaign=campaign)
    rows = {row["annotator"]: row for row in quality["by_annotator"]}
    clicker = rows.pop(users["clicker"].pseudonym)
    assert set(rows) == {users[n].pseudonym for n in ("h1", "h2", "h3")}
    assert clicker["votes"] == N_ITEMS
    assert clicker["position_bias"]["rate"] == 1.0 and clicker["position_bias"]["p_value"] < 1e-5
    assert clicker["time_on_task"]["too_fast"] == N_ITEMS and clicker["time_on_task"]["median_ms"] == 300
    for row in rows.values():
        assert row["length_bias"]["rate"] == 1.0
        assert row["time_on_task"]["too_fast"] == 0
        assert row["alpha_vs_rest"] > clicker["alpha_vs_rest"]
        assert row["alpha_without"] < clicker["alpha_without"]
        assert row["dawid_skene_weight"] > 0.5 > clicker["dawid_skene_weight"]
        assert row["crowd_bt_weight"] > 0.5 > clicker["crowd_bt_weight"]
        assert row["crowd_bt_eta"] > clicker["crowd_bt_eta"]
    h3 = rows[users["h3"].pseudonym]
    assert h3["flag_consistency"]["agreeing"]["n"] == N_ITEMS and h3["flag_consistency"]["agreeing"]["k"] == 0
    assert rows[users["h1"].pseudonym]["flag_consistency"]["agreeing"]["n"] == 0


def test_annotator_weights_are_keyed_by_user_id(session: Session, seeded) -> None:
    campaign, users = seeded
    for model in ("dawid_skene", "crowd_bt"):
        weights = service.annotator_weights(session, campaign=campaign, model=model)
        assert set(weights) == {u.id for u in users.values()}
        assert all(0.0 <= w <= 1.0 for w in weights.values())
        assert weights[users["clicker"].id] < min(weights[users[n].id] for n in ("h1", "h2", "h3"))
    with pytest.raises(Invalid, match="unknown reliability model"):
        service.annotator_weights(session, campaign=campaign, model="majority")


def test_campaign_quality_reads_only(session: Session, seeded) -> None:
    campaign, _ = seeded
    before = session.scalars(select(Vote.time_on_task_ms).order_by(Vote.id)).all()
    service.campaign_quality(session, campaign=campaign)
    assert not session.new and not session.dirty and not session.deleted
    assert session.scalars(select(Vote.time_on_task_ms).order_by(Vote.id)).all() == before


def test_campaign_without_votes(session: Session) -> None:
    campaign = seed_campaign(session, n_items=2)
    quality = service.campaign_quality(session, campaign=campaign)
    assert quality["votes"] == 0 and quality["annotators"] == 0 and quality["by_annotator"] == []
    assert quality["agreement"] == {
        "pairwise_agreement": None,
        "alpha_nominal": None,
        "alpha_ordinal_graded": None,
    }
    assert quality["position_bias"]["rate"] is None and quality["time_on_task"]["median_ms"] is None
    assert quality["reliability"]["crowd_bt"]["votes"] == 0
    assert service.annotator_weights(session, campaign=campaign) == {}


def test_ties_and_both_bad_count_for_agreement_but_not_for_bias(session: Session) -> None:
    campaign = seed_campaign(session, n_items=3, overlap=2)
    users = [make_user(session, f"t{i}@example.org") for i in range(2)]
    session.commit()
    for user in users:
        _vote_all(session, campaign, user, lambda a, b: ("tie", None, {}))
    quality = service.campaign_quality(session, campaign=campaign)
    assert quality["votes"] == 6 and quality["position_bias"]["n"] == 0 and quality["length_bias"]["n"] == 0
    # Everyone said tie everywhere: perfect agreement, but alpha is undefined with one value.
    assert quality["agreement"]["pairwise_agreement"] == 1.0 and quality["agreement"]["alpha_nominal"] is None
    assert quality["reliability"]["crowd_bt"]["votes"] == 0
    assert all(row["crowd_bt_weight"] is None for row in quality["by_annotator"])
