"""The generation interface every provider implements, and the settings that choose one.

Providers: OpenAI-compatible HTTP (vLLM, TGI, Ollama, hosted APIs), a local `transformers` model
(workers/ml/generation), an external command (any program that writes a file: TTS, image, codec),
and replay of outputs given up front. API keys are never stored: a config names the environment
variable that holds one, read where the call is made.
"""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class GenerationError(Exception):
    """A provider could not produce an output; the message says why, for people."""


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class GenerationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.7, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(256, ge=1, le=32_768)
    n: int = Field(1, ge=1, le=16, description="samples per prompt")
    seed: int | None = None
    stop: list[str] = Field(default_factory=list, max_length=8)


class OpenAIConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["openai"] = "openai"
    base_url: str = Field(pattern=r"^https?://", description="e.g. http://gpu-host:8000/v1")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(None, description="name of the environment variable holding the key")
    timeout_s: float = Field(120, gt=0, le=3600)


class TransformersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["transformers"] = "transformers"
    path: str = Field(min_length=1, description="a local model directory")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    batch_size: int = Field(8, ge=1, le=512)


class CommandConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["command"] = "command"
    argv: list[str] = Field(
        min_length=1, description="program and arguments; {prompt}, {output}, {seed}, {sample} are filled in"
    )
    output_suffix: str = Field(".txt", pattern=r"^\.[A-Za-z0-9]{1,8}$")
    media_type: str = "text/plain"
    timeout_s: float = Field(300, gt=0, le=24 * 3600)


class ReplayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["replay"] = "replay"
    outputs: dict[str, list[str]] = Field(description="prompt -> outputs, handed back in order")


ProviderConfig = Annotated[
    OpenAIConfig | TransformersConfig | CommandConfig | ReplayConfig, Field(discriminator="kind")
]


@dataclass
class Generation:
    content: str | None
    provider: str
    model: str
    params: dict[str, Any]
    latency_ms: int
    media_path: Path | None = None
    media_type: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seed: int | None = None
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        """`params.n` samples for one conversation."""
        ...

    def generate_batch(
        self, conversations: list[list[Message]], params: GenerationParams
    ) -> list[list[Generation]]: ...


class StreamingProvider(Provider, Protocol):
    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[str]: ...

    def astream(self, messages: list[Message], params: GenerationParams) -> AsyncIterator[str]: ...


def prompt_text(messages: list[Message]) -> str:
    """A conversation as plain text, for providers without a chat format."""
    if len(messages) == 1:
        return messages[0].content
    return "\n\n".join(f"{m.role.capitalize()}: {m.content}" for m in messages) + "\n\nAssistant:"
