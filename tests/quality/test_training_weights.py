"""Reliability weights reach the reward model's training pairs: a clicker's pairs count for little."""

import pytest
from sqlalchemy.orm import Session

from app.quality import service
from app.rewards import training_data
from app.rewards.schemas import TrainRequest
from tests.quality.test_service import N_ITEMS, seeded  # noqa: F401 (a fixture)


def test_reliability_weighting_lowers_the_clickers_pairs(session: Session, seeded) -> None:  # noqa: F811
    campaign, users = seeded
    plain = list(training_data.iter_preference_pairs(session, campaign=campaign))
    weighted = list(training_data.iter_preference_pairs(session, campaign=campaign, weighting="reliability"))
    assert len(plain) == len(weighted) == 4 * N_ITEMS
    assert {p["weight"] for p in plain} == {1.0}
    weights = service.annotator_weights(session, campaign=campaign, human_only=True)
    # Pairs come in vote order; the seeded votes are cast annotator by annotator (h1, h2, h3, clicker).
    by_annotator = [weighted[k * N_ITEMS : (k + 1) * N_ITEMS] for k in range(4)]
    for name, pairs in zip(("h1", "h2", "h3", "clicker"), by_annotator, strict=True):
        expected = max(weights[users[name].id], training_data.RELIABILITY_FLOOR)
        assert [p["weight"] for p in pairs] == pytest.approx([expected] * N_ITEMS)
    clicker = by_annotator[3][0]["weight"]
    assert clicker < 0.5 < min(pairs[0]["weight"] for pairs in by_annotator[:3])
    # The weights multiply strength weights, and the training data's hash does not depend on them.
    both = list(
        training_data.iter_preference_pairs(
            session, campaign=campaign, weighting="reliability", weight_by_strength=True
        )
    )
    assert both[-1]["weight"] == pytest.approx(clicker * training_data.strength_weight(3))
    assert training_data.snapshot(weighted)["sha256"] == training_data.snapshot(plain)["sha256"]


def test_the_training_request_takes_the_option() -> None:
    assert TrainRequest().weighting == "none"
    assert TrainRequest(weighting="reliability").weighting == "reliability"
    with pytest.raises(ValueError, match="weighting"):
        TrainRequest(weighting="majority")
