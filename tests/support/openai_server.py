"""A real OpenAI-compatible HTTP server for tests, on a free loopback port in a thread of the test process:
`/v1/models` and `/v1/chat/completions` (whole answers with `n` and `usage`, or server-sent events).

    with serve_openai(model_dir) as server:    # a local model, through the transformers provider
        server.base_url                        # "http://127.0.0.1:PORT/v1"
        server.mode = "fail"                   # see OpenAIServer
    with serve_openai() as server:             # no model: answers echo the prompt, instantly

Tests that share one server call `server.reset()` between them.
"""

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from app.generation.base import Generation, GenerationParams, GenerationStream, Message

Mode = Literal["ok", "fail", "stall", "stall_midway", "fail_midway"]


@dataclass
class OpenAIServer:
    """The server's address, the model name it reports, and what the test tells it to do.

    mode: "ok"; "fail" answers HTTP 500 {"error": {"message": "model crashed"}}; "stall" waits before
    answering (until `stall_s` or shutdown); "stall_midway" and "fail_midway" stream one piece, then
    stall or send an error event. `supports_n=False` refuses n > 1 with HTTP 400 (as some servers do);
    `api_key` makes it ask for that Bearer key (401 otherwise); `piece_delay_s` spaces streamed pieces.
    Every request's JSON body and headers are kept in `requests`.
    """

    base_url: str
    model: str
    mode: Mode = "ok"
    supports_n: bool = True
    api_key: str | None = None
    stall_s: float = 30.0
    piece_delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    _wake: threading.Event = field(default_factory=threading.Event, repr=False)

    def reset(self) -> None:
        self.mode, self.supports_n, self.api_key = "ok", True, None
        self.stall_s, self.piece_delay_s = 30.0, 0.0
        self.requests.clear()
        self.wake_stalled()

    def wake_stalled(self) -> None:
        """Lets every stalled request go on now (a later stall waits again)."""
        wake, self._wake = self._wake, threading.Event()
        wake.set()

    async def stall(self) -> None:
        await asyncio.to_thread(self._wake.wait, self.stall_s)

    @property
    def last_body(self) -> dict[str, Any]:
        return self.requests[-1]["body"]


class _Backend(Protocol):
    name: str

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]: ...

    def stream(self, messages: list[Message], params: GenerationParams) -> GenerationStream: ...


class _Echo:
    """No model: the answer is the last message's words, one per token, up to max_tokens."""

    name = "echo"

    def _words(self, messages: list[Message], params: GenerationParams) -> list[str]:
        return messages[-1].content.split()[: params.max_tokens] or ["..."]

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        words = self._words(messages, params)
        prompt_tokens = sum(len(m.content.split()) for m in messages)
        return [
            Generation(
                content=" ".join(words),
                provider="echo",
                model=self.name,
                params={},
                latency_ms=0,
                prompt_tokens=prompt_tokens,
                completion_tokens=len(words),
                finish_reason="length" if len(words) == params.max_tokens else "stop",
            )
            for _ in range(params.n)
        ]

    def stream(self, messages: list[Message], params: GenerationParams) -> GenerationStream:
        words = self._words(messages, params)
        whole = self.generate(messages, params.model_copy(update={"n": 1}))[0]
        return GenerationStream(iter([words[0], *(f" {w}" for w in words[1:])]), lambda _text, _ms: whole)


def _model_backend(model_dir: Path) -> _Backend:
    from app.generation.base import TransformersConfig
    from workers.ml.generation.transformers_local import TransformersProvider

    provider = TransformersProvider(TransformersConfig(path=str(model_dir), device="cpu"))
    provider.name = model_dir.name
    return provider


def _params(body: dict[str, Any]) -> GenerationParams:
    return GenerationParams(
        temperature=body.get("temperature", 1.0),
        top_p=body.get("top_p", 1.0),
        max_tokens=body.get("max_tokens", 16),
        n=body.get("n", 1),
        seed=body.get("seed"),
        stop=body.get("stop") or [],
    )


def _chunk(model: str, **fields: Any) -> str:
    return "data: " + json.dumps({"object": "chat.completion.chunk", "model": model, **fields}) + "\n\n"


def _app(backend: _Backend, state: OpenAIServer) -> FastAPI:
    app = FastAPI()

    def refusal(request: Request) -> JSONResponse | None:
        if state.api_key and request.headers.get("authorization") != f"Bearer {state.api_key}":
            return JSONResponse({"error": {"message": "invalid API key"}}, status_code=401)
        if state.mode == "fail":
            return JSONResponse({"error": {"message": "model crashed"}}, status_code=500)
        return None

    @app.get("/v1/models")
    def models(request: Request) -> Response:
        return refusal(request) or JSONResponse(
            {"object": "list", "data": [{"id": backend.name, "object": "model", "owned_by": "tests"}]}
        )

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        state.requests.append({"body": body, "headers": dict(request.headers)})
        if (refused := refusal(request)) is not None:
            return refused
        if body.get("n", 1) > 1 and not state.supports_n:
            return JSONResponse({"error": {"message": "n > 1 is not supported"}}, status_code=400)
        if state.mode == "stall":
            await state.stall()
        messages = [Message(**m) for m in body["messages"]]
        params = _params(body)
        if body.get("stream"):
            usage = (body.get("stream_options") or {}).get("include_usage", False)
            return StreamingResponse(
                _events(backend, state, messages, params, usage), media_type="text/event-stream"
            )
        outputs = await asyncio.to_thread(backend.generate, messages, params)
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": backend.name,
                "choices": [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": g.content},
                        "finish_reason": g.finish_reason,
                    }
                    for i, g in enumerate(outputs)
                ],
                # Like vLLM: the prompt once, the completion tokens of all choices together.
                "usage": {
                    "prompt_tokens": outputs[0].prompt_tokens,
                    "completion_tokens": sum(g.completion_tokens or 0 for g in outputs),
                    "total_tokens": (outputs[0].prompt_tokens or 0)
                    + sum(g.completion_tokens or 0 for g in outputs),
                },
            }
        )

    return app


async def _events(
    backend: _Backend,
    state: OpenAIServer,
    messages: list[Message],
    params: GenerationParams,
    usage: bool,
) -> AsyncIterator[str]:
    pieces = backend.stream(messages, params)
    count = 0
    while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
        count += 1
        yield _chunk(backend.name, choices=[{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        if state.mode == "stall_midway":
            await state.stall()
        if state.mode == "fail_midway":
            yield "data: " + json.dumps({"error": {"message": "the model fell over", "code": 500}}) + "\n\n"
            return
        if state.piece_delay_s:
            await asyncio.sleep(state.piece_delay_s)
    finished = pieces.generation
    finish_reason = finished.finish_reason if finished else "stop"
    yield _chunk(backend.name, choices=[{"index": 0, "delta": {}, "finish_reason": finish_reason}])
    if usage:
        tokens = {"prompt_tokens": finished.prompt_tokens, "completion_tokens": finished.completion_tokens}
        yield _chunk(backend.name, choices=[], usage=tokens if finished else {"completion_tokens": count})
    yield "data: [DONE]\n\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_openai(
    model_dir: Path | None = None, *, backend: "_Backend | None" = None
) -> Iterator[OpenAIServer]:
    """Starts the server (`backend` when given, a local model's when `model_dir` is given, else the echo
    backend), yields its state with `base_url`, and stops it on the way out."""
    if backend is None:
        backend = _model_backend(model_dir) if model_dir is not None else _Echo()
    port = free_port()
    state = OpenAIServer(base_url=f"http://127.0.0.1:{port}/v1", model=backend.name)
    server = uvicorn.Server(
        uvicorn.Config(_app(backend, state), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name=f"openai-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test OpenAI server did not start")
        time.sleep(0.02)
    try:
        yield state
    finally:
        state.wake_stalled()
        server.should_exit = True
        thread.join(10)
