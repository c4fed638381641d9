"""Judge verdicts in both orders: labels, swap-consistency, confidence (`app/routing/judge.py`)."""

import pytest

from app.routing.judge import Verdict, combine, parse_verdict, swap_consistency_rate, swap_consistent


def test_consistent_verdicts_name_the_same_side() -> None:
    # a shown first and preferred; then b shown first and a (now second) preferred.
    forward, backward = Verdict("first"), Verdict("second")
    assert swap_consistent(forward, backward)
    label = combine(forward, backward)
    assert (label.label, label.swap_consistent, label.confidence) == ("a", True, 1.0)
    assert combine(Verdict("second"), Verdict("first")).label == "b"
    tie = combine(Verdict("tie"), Verdict("tie"))
    assert (tie.label, tie.swap_consistent, tie.confidence) == ("tie", True, 0.5)


def test_position_bias_is_inconsistent_and_becomes_a_tie() -> None:
    # The judge always prefers whatever it reads first.
    label = combine(Verdict("first"), Verdict("first"))
    assert not label.swap_consistent and label.label == "tie" and label.confidence == 0.0
    assert not swap_consistent(Verdict("tie"), Verdict("first"))


def test_confidence_from_probabilities_averages_both_orders() -> None:
    label = combine(Verdict("first", p_first=0.9), Verdict("second", p_first=0.3))
    assert label.label == "a" and label.p_a == pytest.approx(0.8) and label.confidence == pytest.approx(0.8)
    biased = combine(Verdict("first", p_first=0.7), Verdict("first", p_first=0.7))
    assert (
        biased.label == "tie" and biased.p_a == pytest.approx(0.5) and biased.confidence == pytest.approx(1.0)
    )
    b_wins = combine(Verdict("second", p_first=0.2), Verdict("first", p_first=0.6))
    assert b_wins.label == "b" and b_wins.confidence == pytest.approx(0.7)


def test_parse_and_rate() -> None:
    assert parse_verdict(1) == Verdict("first")
    assert parse_verdict(" B ") == Verdict("second")
    assert parse_verdict("Tie").choice == "tie" and parse_verdict(0).choice == "tie"
    with pytest.raises(ValueError, match="cannot read a verdict"):
        parse_verdict("garbage")
    with pytest.raises(ValueError):
        Verdict("first", p_first=1.5)
    pairs = [(Verdict("first"), Verdict("second")), (Verdict("first"), Verdict("first"))]
    assert swap_consistency_rate(pairs) == 0.5
