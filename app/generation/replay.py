"""Replay: outputs given up front (imported, or produced elsewhere), handed back as generations."""

from app.generation.base import (
    Generation,
    GenerationError,
    GenerationParams,
    Message,
    ReplayConfig,
    prompt_text,
)


class ReplayProvider:
    def __init__(self, config: ReplayConfig) -> None:
        self.config = config

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        prompt = prompt_text(messages)
        outputs = self.config.outputs.get(prompt)
        if not outputs:
            raise GenerationError("no recorded output for this prompt")
        return [
            Generation(
                content=text, provider="replay", model="replay", params=params.model_dump(), latency_ms=0
            )
            for text in outputs[: params.n]
        ]

    def generate_batch(
        self, conversations: list[list[Message]], params: GenerationParams
    ) -> list[list[Generation]]:
        return [self.generate(messages, params) for messages in conversations]
