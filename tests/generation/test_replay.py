"""Replay: recorded outputs handed back as generations, from a mapping or a function."""

import pytest

from app.generation import GenerationError, GenerationParams, Message, ReplayConfig, make_provider


def ask(text: str) -> list[Message]:
    return [Message(role="user", content=text)]


def test_recorded_outputs_come_back_in_order() -> None:
    provider = make_provider(ReplayConfig(outputs={"hello": ["one", "two", "three"], "bye": "ciao"}))
    outputs = provider.generate(ask("hello"), GenerationParams(n=2))
    assert [g.content for g in outputs] == ["one", "two"]
    assert (
        outputs[0].provider == "replay" and outputs[0].latency_ms == 0 and outputs[0].finish_reason == "stop"
    )
    # Replay cannot make more than it has: fewer samples than asked for.
    assert [g.content for g in provider.generate(ask("bye"), GenerationParams(n=3))] == ["ciao"]
    assert [
        [g.content for g in s]
        for s in provider.generate_batch([ask("bye"), ask("hello")], GenerationParams())
    ] == [
        ["ciao"],
        ["one"],
    ]
    with pytest.raises(GenerationError, match="no recorded output for the prompt 'unknown'"):
        provider.generate(ask("unknown"), GenerationParams())


def test_a_function_can_be_the_source() -> None:
    imported = {"item-1": ["first answer"]}

    def by_item(messages: list[Message]) -> list[str] | None:
        return imported.get(messages[-1].content)

    provider = make_provider(ReplayConfig(outputs=by_item))
    assert provider.generate(ask("item-1"), GenerationParams())[0].content == "first answer"
    with pytest.raises(GenerationError, match="no recorded output"):
        provider.generate(ask("item-2"), GenerationParams())
