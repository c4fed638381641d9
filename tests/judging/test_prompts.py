"""The judge's prompt template and reading a verdict off its answer."""

import pytest

from app.judging import prompts


def test_the_default_template_has_every_placeholder_and_renders_them_once() -> None:
    prompts.check_template(prompts.DEFAULT_TEMPLATE)
    text = prompts.render(
        prompts.DEFAULT_TEMPLATE, prompt="Why {x}?", first="one {second}", second="two", guidelines="be kind"
    )
    # A brace inside an answer is left as written, never filled in.
    assert "one {second}" in text and "Why {x}?" in text and "be kind" in text
    assert "{guidelines}" not in prompts.render(prompts.DEFAULT_TEMPLATE, prompt="p", first="a", second="b")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{prompt} {first}", "needs {second}"),
        ("{prompt} {first} {second} {answer}", "unknown placeholder {answer}"),
    ],
)
def test_a_template_missing_or_misspelling_a_placeholder_is_refused(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prompts.check_template(template)


@pytest.mark.parametrize(
    ("answer", "choice"),
    [
        ("Reasons.\nA", "first"),
        ("Reasons.\n**B**", "second"),
        ("Reasons.\nVerdict: tie.", "tie"),
        ("Reasons.\nFinal verdict: [[A]]", "first"),
        ("I pick [[B]] because it is better, as said.\nThanks for reading", "second"),
    ],
)
def test_verdicts_are_read_off_the_last_line(answer: str, choice: str) -> None:
    assert prompts.read_verdict(answer).choice == choice


def test_an_answer_without_a_verdict_is_unreadable() -> None:
    with pytest.raises(prompts.UnreadableAnswer, match="no verdict"):
        prompts.read_verdict("Both are a good start and a fine effort.")


def test_the_reasoning_excerpt_drops_the_verdict_line_and_is_short() -> None:
    assert prompts.reasoning("The longer answer covers more.\nB") == "The longer answer covers more."
    assert len(prompts.reasoning("x" * 2000 + "\nA", limit=100)) == 100
