"""Replay: outputs given up front (imported, or made elsewhere) handed back as generations, so that they
go through the same path as live ones."""

from collections.abc import Mapping, Sequence

from app.generation.base import (
    Generation,
    GenerationError,
    GenerationParams,
    Message,
    Provider,
    ReplayConfig,
    ReplaySource,
    prompt_text,
)


class ReplayProvider(Provider):
    def __init__(self, config: ReplayConfig) -> None:
        self.config = config

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        outputs = recorded_outputs(self.config.outputs, messages)
        if not outputs:
            raise GenerationError(f"no recorded output for the prompt {prompt_text(messages)[:80]!r}")
        # Fewer recorded outputs than samples asked for: replay cannot make more, it hands back what it has.
        return [
            Generation(
                content=text,
                provider="replay",
                model="replay",
                params=params.model_dump(),
                latency_ms=0,
                finish_reason="stop",
            )
            for text in outputs[: params.n]
        ]


def recorded_outputs(
    source: Mapping[str, Sequence[str] | str] | ReplaySource, messages: list[Message]
) -> list[str]:
    """What a replay source holds for a conversation: looked up by its prompt text, or asked of a function."""
    found = source(messages) if callable(source) else source.get(prompt_text(messages))
    if found is None:
        return []
    if isinstance(found, str):
        return [found]
    return [str(text) for text in found]
