import math
from collections import Counter
from typing import Literal

import numpy as np
import pytest

from app.arena.anomaly import check_voters, log_likelihood_ratios, thresholds, tie_weight, vote_probabilities
from app.leaderboard.ratings import ELO_SCALE

Kind = Literal["honest", "adversarial", "random"]
SPREAD = {f"s{k}": 800.0 + 50 * k for k in range(10)}  # 800 .. 1250: neighbours nearly even
SEPARATED = {f"s{k}": 600.0 + 400 * k for k in range(5)}  # 600 .. 2200: each gap is a 91% favourite


def simulate(
    ratings: dict[str, float], kind: Kind, *, voters: int, votes: int, seed: int, nu: float = 0.0
) -> tuple[list[str], list[str], list[str], list[str]]:
    """`votes` votes for each of `voters` voters, interleaved (vote 1 of everyone, then vote 2...). Honest
    voters follow the ratings, tying as Davidson's model with weight `nu` has it."""
    rng = np.random.default_rng(seed)
    names = np.array(list(ratings))
    scores = np.array(list(ratings.values()))
    n = voters * votes
    first = rng.integers(0, len(names), n)
    second = (first + rng.integers(1, len(names), n)) % len(names)
    d = (scores[first] - scores[second]) / ELO_SCALE
    if kind == "honest":
        weight_a, weight_b = np.exp(d / 2), np.exp(-d / 2)
        draw = rng.random(n) * (weight_a + weight_b + nu)
        outcome = np.where(draw < weight_a, "a", np.where(draw < weight_a + weight_b, "b", "tie"))
    elif kind == "adversarial":
        outcome = np.where(d < 0, "a", "b")
    else:
        outcome = np.where(rng.random(n) < 0.5, "a", "b")
    who = np.tile([f"user:{k}" for k in range(voters)], votes)
    return list(who), list(names[first]), list(names[second]), [str(o) for o in outcome]


def decisions(results: dict) -> Counter:
    return Counter(check.decision for check in results.values())


def test_without_ties_each_vote_has_its_bradley_terry_probability() -> None:
    ratings = {"strong": 1000 + ELO_SCALE * math.log(3), "weak": 1000.0}  # P(strong wins) = 3/4
    p = vote_probabilities(
        ratings,
        ["strong", "strong", "weak", "new"],
        ["weak", "weak", "strong", "weak"],
        ["a", "b", "model_a", "a"],
    )
    assert p[:3] == pytest.approx([0.75, 0.25, 0.25]) and math.isnan(p[3])
    d, y = np.array([math.log(3)] * 2), np.array([1.0, 0.0])
    assert log_likelihood_ratios(d, y, tie_rate=0) == pytest.approx(
        [math.log(0.5 / 0.75), math.log(0.5 / 0.25)]
    )
    assert log_likelihood_ratios(d, y, tie_rate=0, alternative="flipped") == pytest.approx(
        [-math.log(3), math.log(3)]
    )


def test_ties_follow_davidson_at_the_votes_tie_rate() -> None:
    ratings = {"strong": 1000 + ELO_SCALE * math.log(3), "weak": 1000.0}
    p = vote_probabilities(ratings, ["strong"] * 3, ["weak"] * 3, ["a", "b", "tie"], tie_rate=0.2)
    assert p.sum() == pytest.approx(1) and p[2] == pytest.approx(0.2) and p[0] / p[1] == pytest.approx(3)
    # By default the tie rate is the votes' own: one tie in four.
    p = vote_probabilities(ratings, ["strong"] * 4, ["weak"] * 4, ["a", "a", "b", "tie"])
    assert p[3] == pytest.approx(0.25)
    # A tie between near equals is likelier than between a favourite and an outsider.
    gaps = np.array([0.0, 2.0])
    tie = np.array([0.5, 0.5])
    assert np.diff(log_likelihood_ratios(gaps, tie, tie_rate=0.3))[0] > 0
    assert tie_weight(np.array([0.0]), 0.5) == pytest.approx(2.0)  # nu / (2 + nu) = 1/2
    with pytest.raises(ValueError, match="the votes include ties, so tie_rate cannot be 0"):
        check_voters(ratings, ["u"], ["strong"], ["weak"], ["tie"], tie_rate=0)


def test_the_statistic_sums_each_voters_votes_in_order_and_skips_unrated_systems() -> None:
    ratings = {"strong": 1000 + ELO_SCALE * math.log(3), "weak": 1000.0}
    results = check_voters(
        ratings,
        ["u1", "u2", "u1", "u1", "u3"],
        ["strong", "strong", "weak", "new", "new"],
        ["weak", "weak", "strong", "weak", "strong"],
        ["b", "a", "a", "a", "b"],
        min_votes=100,
    )
    # u1: the weak side won twice (log 2 each); the vote on "new" carries nothing and is not counted.
    assert results["u1"].decision == "continue" and results["u1"].votes == 2
    assert results["u1"].statistic == pytest.approx(2 * math.log(2))
    assert results["u2"].statistic == pytest.approx(math.log(0.5 / 0.75))
    assert results["u3"].decision == "continue" and results["u3"].votes == 0 and results["u3"].statistic == 0


def test_wald_thresholds_and_bad_input_are_explained() -> None:
    bounds = thresholds(0.001, 0.1)
    assert bounds.upper == pytest.approx(math.log(0.9 / 0.001)) and bounds.lower == pytest.approx(
        math.log(0.1 / 0.999)
    )
    with pytest.raises(ValueError, match="alpha and beta must lie in"):
        thresholds(0.5, 0.6)
    with pytest.raises(ValueError, match="vote 1 has outcome 'draw'"):
        check_voters(SPREAD, ["u", "u"], ["s1", "s1"], ["s2", "s2"], ["a", "draw"])
    with pytest.raises(ValueError, match="one entry per vote"):
        check_voters(SPREAD, ["u"], ["s1"], ["s2"], [])
    with pytest.raises(ValueError, match="alternative must be"):
        check_voters(SPREAD, ["u"], ["s1"], ["s2"], ["a"], alternative="other")  # type: ignore[arg-type]


@pytest.mark.parametrize("nu", [0.0, 0.5, 1.5])  # no ties, about 18%, about 40% on these ratings
def test_honest_voters_are_flagged_at_most_at_the_error_rate(nu: float) -> None:
    alpha, beta = 0.01, 0.1
    votes = simulate(SPREAD, "honest", voters=4000, votes=80, seed=1, nu=nu)
    found = decisions(check_voters(SPREAD, *votes, alpha=alpha, beta=beta))
    # Wald: P(flag | H0) <= alpha / (1 - beta), whatever the votes' count.
    assert found["flag"] / 4000 <= alpha / (1 - beta)
    assert found["ok"] > 0.5 * 4000


def test_honest_voters_pass_at_the_default_error_rate() -> None:
    votes = simulate(SEPARATED, "honest", voters=2000, votes=50, seed=2, nu=1.0)
    found = decisions(check_voters(SEPARATED, *votes))
    assert found["flag"] <= 3 and found["ok"] > 1900


@pytest.mark.parametrize("alternative", ["random", "flipped"])
def test_adversarial_voters_are_flagged_after_few_votes(alternative: Literal["random", "flipped"]) -> None:
    votes = simulate(SPREAD, "adversarial", voters=200, votes=60, seed=3)
    results = check_voters(SPREAD, *votes, alternative=alternative)
    assert decisions(results) == Counter(flag=200)
    assert np.median([check.votes for check in results.values()]) <= 15
    assert max(check.votes for check in results.values()) <= 30


def test_random_voters_are_flagged_eventually_on_well_separated_ratings() -> None:
    votes = simulate(SEPARATED, "random", voters=500, votes=200, seed=4)
    found = decisions(check_voters(SEPARATED, *votes))
    assert found["flag"] >= 0.9 * 500 and found["ok"] <= 0.1 * 500


def test_the_first_crossing_decides() -> None:
    adversarial = simulate(SPREAD, "adversarial", voters=1, votes=40, seed=5)
    honest = simulate(SPREAD, "honest", voters=1, votes=400, seed=6)
    turned = [a + h for a, h in zip(adversarial, honest, strict=True)]
    check = check_voters(SPREAD, *turned)["user:0"]
    assert check.decision == "flag" and check.votes <= 40
    assert check.statistic >= thresholds(0.001, 0.1).upper
    cleared = check_voters(SPREAD, *[h + a for h, a in zip(honest, adversarial, strict=True)])["user:0"]
    assert cleared.decision == "ok" and cleared.votes <= 400
