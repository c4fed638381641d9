"""A local causal LM as judge: the verdicts' log-probabilities (the tiny test model, built offline)."""

from pathlib import Path

import pytest

from app.generation.base import TransformersConfig
from app.judging import prompts
from app.judging.providers import JudgeError, Pair
from app.routing.judge import combine

PAIR = Pair(
    comparison_id=1, prompt="why", guidelines="", a_id=1, a_text="the cat", b_id=2, b_text="a dog ran"
)


def test_verdict_probabilities_come_from_the_model(tiny_lm: Path) -> None:
    from workers.ml.judge_lm import TransformersJudge

    judge = TransformersJudge(
        TransformersConfig(path=str(tiny_lm), device="cpu"), template="{prompt} {first} {second}"
    )
    forward, backward = judge.ask(PAIR, a_first=True), judge.ask(PAIR, a_first=False)
    for answer in (forward, backward):
        assert answer.verdict.p_first is not None and 0 <= answer.verdict.p_first <= 1
        assert answer.output.startswith("P(A)=")
    # The tiny model's vocabulary has none of the verdict words: all three read as the same unknown
    # token, equally likely, so each order is a tie and the pair is a consistent, certain tie.
    assert forward.verdict.choice == backward.verdict.choice == "tie"
    label = combine(forward.verdict, backward.verdict)
    assert label.label == "tie" and label.swap_consistent and label.confidence == pytest.approx(1.0)


def test_a_question_longer_than_the_model_reads_is_a_judge_error(tiny_lm: Path) -> None:
    from workers.ml.judge_lm import TransformersJudge

    judge = TransformersJudge(
        TransformersConfig(path=str(tiny_lm), device="cpu"), template=prompts.DEFAULT_TEMPLATE
    )
    long_pair = Pair(
        comparison_id=1, prompt="why " * 300, guidelines="", a_id=1, a_text="a", b_id=2, b_text="b"
    )
    with pytest.raises(JudgeError, match="the model reads at most"):
        judge.ask(long_pair, a_first=True)
