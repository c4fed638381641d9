"""The generation interface every provider implements, and the settings that choose one.

Providers: OpenAI-compatible HTTP (vLLM, TGI, Ollama, hosted APIs), a local `transformers` model and a
`diffusers` text-to-image pipeline (both in workers/ml/generation, the only place torch is imported),
an external command (any program that writes a file: TTS, image, video, codec), and replay of outputs
given up front.

A config is what gets stored (in a job's parameters, a campaign's arena systems), so it never holds a
secret: an API key comes from the environment variable the config names, or is handed to
`make_provider` at run time.
"""

import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema


class GenerationError(Exception):
    """A provider could not produce an output. The message is for people: callers show it as it is."""


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class GenerationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.7, ge=0, le=2, description="0 means greedy decoding")
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(256, ge=1, le=32_768)
    n: int = Field(1, ge=1, le=16, description="samples per prompt")
    seed: int | None = Field(None, ge=0, description="sample k uses seed + k; none: a random one, recorded")
    stop: list[str] = Field(default_factory=list, max_length=8)


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenAIConfig(_Config):
    kind: Literal["openai"] = "openai"
    base_url: str = Field(pattern=r"^https?://", description="e.g. http://gpu-host:8000/v1")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="the environment variable holding the key"
    )
    timeout_s: float = Field(120, gt=0, le=3600, description="for the whole answer")
    extra_headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("extra_headers")
    @classmethod
    def _no_credentials(cls, headers: dict[str, str]) -> dict[str, str]:
        # Configs are stored: a key here would end up in the database.
        for name in headers:
            if name.lower() in {"authorization", "api-key", "x-api-key", "proxy-authorization"}:
                raise ValueError(f"header {name!r} carries a credential: name its variable in api_key_env")
        return headers


Device = Literal["auto", "cpu", "cuda"]
DType = Literal["auto", "float32", "float16", "bfloat16"]


class TransformersConfig(_Config):
    kind: Literal["transformers"] = "transformers"
    path: str = Field(min_length=1, description="a local model directory")
    device: Device = Field("auto", description="auto: CUDA when a GPU is visible, else the CPU")
    dtype: DType = Field("auto", description="auto: float32 on the CPU, bfloat16 (or float16) on a GPU")
    batch_size: int = Field(8, ge=1, le=512)
    chat_template: bool = Field(True, description="use the tokenizer's chat template when it has one")


class DiffusersConfig(_Config):
    kind: Literal["diffusers"] = "diffusers"
    path: str = Field(min_length=1, description="a local pipeline directory (with model_index.json)")
    device: Device = "auto"
    dtype: DType = "auto"
    steps: int = Field(30, ge=1, le=500)
    guidance: float = Field(7.5, ge=0, le=50)
    width: int | None = Field(None, ge=8, le=4096, multiple_of=8, description="default: the model's")
    height: int | None = Field(None, ge=8, le=4096, multiple_of=8)


PLACEHOLDERS = ("prompt", "system", "output", "seed", "sample")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "fish", "csh", "tcsh", "cmd", "cmd.exe", "powershell", "pwsh"}


class CommandConfig(_Config):
    kind: Literal["command"] = "command"
    argv: list[str] = Field(
        min_length=1,
        description="program and arguments, run without a shell; {prompt}, {system} (the system message), "
        "{output} (the file to write), {seed} and {sample} are filled in, each argument on its own",
    )
    output_suffix: str = Field(".txt", pattern=r"^\.[A-Za-z0-9]{1,8}$")
    media_type: str = Field("text/plain", pattern=r"^[a-z]+/[A-Za-z0-9.+-]+$")
    timeout_s: float = Field(300, gt=0, le=24 * 3600)
    env: dict[str, str] = Field(default_factory=dict, description="added to the worker's environment")

    @model_validator(mode="after")
    def _placeholders(self) -> "CommandConfig":
        for arg in self.argv:
            for name in _PLACEHOLDER.findall(arg):
                if name not in PLACEHOLDERS:
                    known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                    raise ValueError(f"unknown placeholder {{{name}}} in {arg!r}; known: {known}")
        if Path(self.argv[0]).name in _SHELLS:
            # A prompt spliced into a script would run as code; as an argument of its own it stays text.
            for arg in self.argv[1:]:
                for name in ("prompt", "system"):
                    if f"{{{name}}}" in arg and arg != f"{{{name}}}":
                        raise ValueError(
                            f"{{{name}}} inside a shell script would run as code: pass it as an argument "
                            f'of its own, e.g. ["bash", "-c", "tts --text \\"$1\\"", "_", "{{{name}}}"]'
                        )
        return self


ReplaySource = Callable[[list[Message]], Sequence[str] | str | None]


class ReplayConfig(_Config):
    kind: Literal["replay"] = "replay"
    outputs: dict[str, list[str] | str] | SkipJsonSchema[ReplaySource] = Field(
        description="prompt -> its outputs (the first n are handed back), or, in process, a function "
        "from a conversation to its outputs"
    )


ProviderConfig = Annotated[
    OpenAIConfig | TransformersConfig | DiffusersConfig | CommandConfig | ReplayConfig,
    Field(discriminator="kind"),
]


@dataclass
class Generation:
    """One sample and how it was made: what a candidate's metadata records."""

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

    def metadata(self) -> dict[str, Any]:
        """Everything but the output itself, JSON-safe."""
        data = asdict(self)
        del data["content"]
        data["media_path"] = str(self.media_path) if self.media_path else None
        return data


class Provider(Protocol):
    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        """`params.n` samples for one conversation."""
        ...

    def generate_batch(
        self, conversations: list[list[Message]], params: GenerationParams
    ) -> list[list[Generation]]:
        """`params.n` samples for each conversation; providers that can batch do it here."""
        return [self.generate(messages, params) for messages in conversations]


@runtime_checkable
class StreamingProvider(Provider, Protocol):
    """A provider whose answers can be shown as they are written (the arena)."""

    def stream(self, messages: list[Message], params: GenerationParams) -> "GenerationStream": ...

    def astream(self, messages: list[Message], params: GenerationParams) -> "AsyncGenerationStream": ...


class _Timing:
    """Latency and time to the first piece, for a streamed answer, from the first time it is read."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.first_piece_ms: int | None = None

    def start(self) -> None:
        if self.started is None:
            self.started = time.perf_counter()

    def piece(self) -> None:
        if self.first_piece_ms is None:
            self.first_piece_ms = self.elapsed_ms()

    def elapsed_ms(self) -> int:
        self.start()
        return int((time.perf_counter() - (self.started or 0)) * 1000)

    def finish(self, finish: Callable[[str, int], Generation], text: str) -> Generation:
        generation = finish(text, self.elapsed_ms())
        generation.extra.setdefault("first_token_ms", self.first_piece_ms)
        return generation


class GenerationStream(Iterator[str]):
    """One answer, piece by piece as it is written. Once the pieces run out, `generation` holds the
    whole answer with its metadata; `close()` stops it early (e.g. the other side of a battle failed).
    Iterating raises GenerationError when the provider fails midway."""

    def __init__(self, pieces: Iterator[str], finish: Callable[[str, int], Generation]) -> None:
        self._pieces = pieces
        self._finish = finish
        self._text: list[str] = []
        self._timing = _Timing()
        self.generation: Generation | None = None

    @property
    def text(self) -> str:
        return "".join(self._text)

    def __next__(self) -> str:
        self._timing.start()
        try:
            piece = next(self._pieces)
        except StopIteration:
            if self.generation is None:
                self.generation = self._timing.finish(self._finish, self.text)
            raise
        self._timing.piece()
        self._text.append(piece)
        return piece

    def close(self) -> None:
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "GenerationStream":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncGenerationStream(AsyncIterator[str]):
    """The async twin of GenerationStream (`async for piece in stream`, then `stream.generation`)."""

    def __init__(self, pieces: AsyncIterator[str], finish: Callable[[str, int], Generation]) -> None:
        self._pieces = pieces
        self._finish = finish
        self._text: list[str] = []
        self._timing = _Timing()
        self.generation: Generation | None = None

    @property
    def text(self) -> str:
        return "".join(self._text)

    async def __anext__(self) -> str:
        self._timing.start()
        try:
            piece = await anext(self._pieces)
        except StopAsyncIteration:
            if self.generation is None:
                self.generation = self._timing.finish(self._finish, self.text)
            raise
        self._timing.piece()
        self._text.append(piece)
        return piece

    async def aclose(self) -> None:
        aclose = getattr(self._pieces, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> "AsyncGenerationStream":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def split_system(messages: Sequence[Message]) -> tuple[str, list[Message]]:
    """The system messages' text, and the rest of the conversation."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    return system, [m for m in messages if m.role != "system"]


def prompt_text(messages: Sequence[Message]) -> str:
    """A conversation as plain text, for providers without a chat format."""
    if len(messages) == 1:
        return messages[0].content
    return "\n\n".join(f"{m.role.capitalize()}: {m.content}" for m in messages) + "\n\nAssistant:"


def params_record(params: GenerationParams, **settings: Any) -> dict[str, Any]:
    """The sampling parameters with the provider's own settings, as stored with each generation."""
    return params.model_dump() | settings
