"""An LM judge's verdicts on a pair, asked in both orders: the label, swap-consistency and confidence.

A judge that prefers whichever answer it reads first (position bias) contradicts itself when the two
answers are swapped; Zheng et al. 2023 ("Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena",
section 3.3) ask in both orders and call an inconsistent pair a tie. That is the rule here. The
confidence is the judge's own probability for its verdict when it gives one (e.g. from the log
probabilities of "A"/"B"), averaged over the two orders; without probabilities it is 1 for a
consistent verdict, 0.5 for a consistent tie and 0 for an inconsistent one.

Sides are named by the pair as stored: `a` and `b`. `forward` is the verdict with a shown first,
`backward` with b shown first; each verdict names the side *as shown* ("first", "second", "tie").
"""

from dataclasses import dataclass
from typing import Literal

Shown = Literal["first", "second", "tie"]
Label = Literal["a", "b", "tie"]

_ALIASES: dict[str, Shown] = {
    "first": "first",
    "1": "first",
    "a": "first",
    "second": "second",
    "2": "second",
    "b": "second",
    "tie": "tie",
    "0": "tie",
    "draw": "tie",
    "equal": "tie",
}


@dataclass(frozen=True)
class Verdict:
    """One judge call: which side as shown won, and (optionally) its probability that the first won."""

    choice: Shown
    p_first: float | None = None

    def __post_init__(self) -> None:
        if self.choice not in ("first", "second", "tie"):
            raise ValueError(f"a verdict is 'first', 'second' or 'tie', not {self.choice!r}")
        if self.p_first is not None and not 0.0 <= self.p_first <= 1.0:
            raise ValueError(f"p_first must be a probability, got {self.p_first}")


@dataclass(frozen=True)
class JudgeLabel:
    label: Label
    swap_consistent: bool
    confidence: float  # in [0, 1]
    p_a: float | None  # the judge's probability that a is better, both orders averaged


def parse_verdict(value: object, *, p_first: float | None = None) -> Verdict:
    """A verdict from what judges commonly answer: 1/2/0, "A"/"B", "first"/"second", "tie"."""
    key = str(value).strip().lower()
    if key not in _ALIASES:
        raise ValueError(f"cannot read a verdict from {value!r}; expected first/second/tie, 1/2/0 or A/B")
    return Verdict(_ALIASES[key], p_first)


def _as_side(verdict: Verdict, *, a_first: bool) -> Label:
    if verdict.choice == "tie":
        return "tie"
    first_won = verdict.choice == "first"
    return "a" if first_won == a_first else "b"


def swap_consistent(forward: Verdict, backward: Verdict) -> bool:
    """The two orders name the same side (or both call it a tie)."""
    return _as_side(forward, a_first=True) == _as_side(backward, a_first=False)


def combine(forward: Verdict, backward: Verdict) -> JudgeLabel:
    """The judge's label for (a, b) from both orders; an inconsistent pair is a tie."""
    side_forward = _as_side(forward, a_first=True)
    consistent = side_forward == _as_side(backward, a_first=False)
    label: Label = side_forward if consistent else "tie"
    if forward.p_first is not None and backward.p_first is not None:
        p_a = (forward.p_first + (1.0 - backward.p_first)) / 2
        if label == "a":
            confidence = p_a
        elif label == "b":
            confidence = 1.0 - p_a
        else:  # a tie (said, or from inconsistency) is as sure as the probabilities are even
            confidence = 1.0 - abs(2 * p_a - 1.0)
        return JudgeLabel(label, consistent, float(confidence), float(p_a))
    if not consistent:
        return JudgeLabel(label, False, 0.0, None)
    return JudgeLabel(label, True, 0.5 if label == "tie" else 1.0, None)


def swap_consistency_rate(pairs: list[tuple[Verdict, Verdict]]) -> float:
    """Share of pairs whose two orders agree: a judge-level position-bias check."""
    if not pairs:
        raise ValueError("no verdict pairs")
    return sum(swap_consistent(f, b) for f, b in pairs) / len(pairs)
