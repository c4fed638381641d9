"""A real OpenAI-compatible server for tests: /v1/models and /v1/chat/completions (plain and SSE),
backed by a local model through the transformers provider, on a free loopback port.

    with serve_openai(model_dir) as server:
        server.base_url        # "http://127.0.0.1:PORT/v1"
        server.mode = "fail"   # answer 500 / "stall" (sleep past the client's timeout) / "ok"
"""

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from app.generation.base import GenerationParams, Message, TransformersConfig


@dataclass
class OpenAIServer:
    base_url: str
    mode: str = "ok"
    requests: int = 0


def _app(model_dir: Path, state: OpenAIServer) -> FastAPI:
    from workers.ml.generation.transformers_local import TransformersProvider

    provider = TransformersProvider(TransformersConfig(path=str(model_dir), device="cpu"))
    app = FastAPI()

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model_dir.name, "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        state.requests += 1
        body = await request.json()
        if state.mode == "fail":
            return JSONResponse({"error": {"message": "model crashed"}}, status_code=500)
        if state.mode == "stall":
            await asyncio.sleep(30)
        messages = [Message(**m) for m in body["messages"]]
        params = GenerationParams(
            temperature=body.get("temperature", 1.0),
            top_p=body.get("top_p", 1.0),
            max_tokens=body.get("max_tokens", 16),
            n=body.get("n", 1),
            seed=body.get("seed"),
        )
        if body.get("stream"):

            def events() -> Iterator[str]:
                for piece in provider.stream(messages, params):
                    chunk = {
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": {"content": piece}}],
                    }
                    yield f"data: {json.dumps(chunk)}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        outputs = await asyncio.to_thread(provider.generate, messages, params)
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "model": model_dir.name,
                "choices": [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": g.content},
                        "finish_reason": g.finish_reason,
                    }
                    for i, g in enumerate(outputs)
                ],
                "usage": {
                    "prompt_tokens": outputs[0].prompt_tokens,
                    "completion_tokens": sum(g.completion_tokens or 0 for g in outputs),
                },
            }
        )

    return app


@contextmanager
def serve_openai(model_dir: Path) -> Iterator[OpenAIServer]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = OpenAIServer(base_url=f"http://127.0.0.1:{port}/v1")
    server = uvicorn.Server(
        uvicorn.Config(_app(model_dir, state), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test OpenAI server did not start")
        time.sleep(0.05)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(10)
