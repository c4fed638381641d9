"""The router: performance prediction, the 1 - alpha threshold, budgets (`app/routing/router.py`)."""

import math
from pathlib import Path

import numpy as np
import pytest

from app.routing.router import InstanceFeatures, choose_threshold, fit_logistic, fit_router, route
from app.routing.simulation import RoutingSettings, load_pandalm_routing, simulate_routing

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _instances(n: int, seed: int = 0) -> tuple[list[InstanceFeatures], np.ndarray]:
    """The judge agrees more when it is confident and consistent, less on long prompts."""
    rng = np.random.default_rng(seed)
    rows, agree = [], []
    for _ in range(n):
        confidence = float(rng.random())
        consistent = bool(rng.random() < 0.7)
        length = int(rng.integers(10, 2000))
        tags = ("code",) if rng.random() < 0.3 else ("chat",)
        logit = (
            -1.0
            + 3.0 * confidence
            + 1.5 * consistent
            - 0.4 * math.log(length / 100)
            - 0.5 * (tags == ("code",))
        )
        rows.append(
            InstanceFeatures(
                judge_confidence=confidence,
                swap_consistent=consistent,
                rm_margin=float(rng.normal()) if rng.random() < 0.8 else None,
                prompt_length=length,
                tags=tags,
                extra={"noise": float(rng.normal())},
            )
        )
        agree.append(rng.random() < 1 / (1 + math.exp(-logit)))
    return rows, np.array(agree)


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2, 0.3])
def test_accepted_calibration_labels_agree_at_least_one_minus_alpha(alpha: float) -> None:
    for seed in range(5):
        rows, agree = _instances(300, seed)
        router = fit_router(rows, agree, alpha=alpha)
        accepted = router.predict(rows) >= router.threshold
        if accepted.any():
            assert agree[accepted].mean() >= 1 - alpha
            assert router.accepted_agreement == pytest.approx(agree[accepted].mean())
        # The largest such set: admitting the next instance down would break the bound.
        p = router.predict(rows)
        below = p[p < router.threshold]
        if len(below):
            wider = p >= below.max()
            assert agree[wider].mean() < 1 - alpha


def test_threshold_edges() -> None:
    p = np.array([0.9, 0.8, 0.7, 0.6])
    assert choose_threshold(p, np.array([1, 1, 1, 1]), alpha=0.1) == 0.6
    assert choose_threshold(p, np.array([0, 0, 0, 0]), alpha=0.1) == math.inf
    assert choose_threshold(p, np.array([1, 0, 1, 1]), alpha=0.25) == 0.6
    assert choose_threshold(p, np.array([1, 0, 1, 1]), alpha=0.1) == 0.9
    # Tied probabilities are accepted or refused together.
    assert choose_threshold(np.array([0.9, 0.5, 0.5]), np.array([1, 1, 0]), alpha=0.2) == 0.9


def test_the_router_learns_which_instances_need_humans() -> None:
    rows, agree = _instances(2000, seed=1)
    router = fit_router(rows[:1000], agree[:1000], alpha=0.1)
    weights = router.coefficients()
    assert weights["judge_confidence"] > 0.5 and weights["swap_consistent"] > 0.3
    assert weights["log_prompt_length"] < 0 and abs(weights["noise"]) < 0.2
    assert "tag:code" in weights and "rm_missing" in weights
    p = router.predict(rows[1000:])
    held = agree[1000:]
    routing = router.route(rows[1000:], human_budget=0.3)
    assert len(routing.to_human) == 300 and len(routing.to_judge) == 700
    # The instances sent to humans are the ones the judge gets wrong more often.
    assert held[routing.to_human].mean() < held.mean() - 0.1
    assert held[routing.to_judge].mean() > held.mean()
    assert set(routing.below_threshold) <= set(routing.to_judge)
    assert (p[routing.below_threshold] < router.threshold).all()
    assert routing.human_share_for_alpha == pytest.approx((p < router.threshold).mean())


def test_route_budget_edges() -> None:
    p = np.array([0.9, 0.2, 0.5, 0.7])
    assert list(route(p, human_budget=0.5).to_human) == [1, 2]
    assert len(route(p, human_budget=0.0).to_human) == 0
    assert len(route(p, human_budget=1.0).to_judge) == 0
    with pytest.raises(ValueError):
        route(p, human_budget=1.5)


def test_logistic_fit_matches_a_known_answer() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 2))
    y = rng.random(5000) < 1 / (1 + np.exp(-(0.5 + 2.0 * x[:, 0] - 1.0 * x[:, 1])))
    weights = fit_logistic(x, y.astype(float), l2=1e-3)
    assert np.allclose(weights, [0.5, 2.0, -1.0], atol=0.15)
    # A slice where the judge always agrees stays finite.
    assert np.isfinite(fit_logistic(x[:20], np.ones(20))).all()


@pytest.mark.skipif(not (DATA / "pandalm_testset_v1.json").exists(), reason="needs ../shared/data (PandaLM)")
def test_pandalm_routing_beats_random_at_a_quarter_budget() -> None:
    data = load_pandalm_routing(DATA)
    assert len(data.judge) == 999 and data.humans.shape == (999, 3)
    result = simulate_routing(data, seeds=3, settings=RoutingSettings(budgets=(0.0, 0.25, 1.0)))
    routed, random = result.agreement["routed"], result.agreement["random"]
    assert np.allclose(routed[:, 0], result.agreement["all-judge"][:, 0])
    assert np.allclose(routed[:, 2], result.agreement["all-human"][:, 2])
    assert (routed[:, 1] > random[:, 1]).all()
