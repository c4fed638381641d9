"""OpenAI-compatible chat completions over HTTP (vLLM, TGI, Ollama, hosted APIs), plain and streamed."""

import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from app.generation.base import Generation, GenerationError, GenerationParams, Message, OpenAIConfig


class OpenAIProvider:
    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        self.url = config.base_url.rstrip("/") + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.config.api_key_env:
            key = os.environ.get(self.config.api_key_env)
            if not key:
                raise GenerationError(
                    f"the environment variable {self.config.api_key_env} (the API key) is not set"
                )
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _body(
        self, messages: list[Message], params: GenerationParams, *, n: int, stream: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [m.model_dump() for m in messages],
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "n": n,
            "stream": stream,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = params.stop
        return body

    def _fail(self, exc: Exception) -> GenerationError:
        if isinstance(exc, httpx.TimeoutException):
            return GenerationError(f"{self.config.model}: no answer within {self.config.timeout_s:g} s")
        if isinstance(exc, httpx.HTTPStatusError):
            excerpt = exc.response.text[:300]
            return GenerationError(
                f"{self.config.model}: HTTP {exc.response.status_code} from the endpoint: {excerpt}"
            )
        return GenerationError(f"{self.config.model}: cannot reach {self.config.base_url} ({exc})")

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        started = time.perf_counter()
        try:
            response = httpx.post(
                self.url,
                json=self._body(messages, params, n=params.n, stream=False),
                headers=self._headers(),
                timeout=self.config.timeout_s,
            )
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise self._fail(exc) from exc
        latency = int((time.perf_counter() - started) * 1000)
        choices = data.get("choices") or []
        if not choices:
            raise GenerationError(f"{self.config.model}: the endpoint answered without choices")
        usage = data.get("usage") or {}
        outputs = [
            Generation(
                content=(choice.get("message") or {}).get("content") or "",
                provider="openai",
                model=str(data.get("model") or self.config.model),
                params=params.model_dump(),
                latency_ms=latency,
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                seed=params.seed,
                finish_reason=choice.get("finish_reason"),
            )
            for choice in choices
        ]
        return outputs[: params.n]

    def generate_batch(
        self, conversations: list[list[Message]], params: GenerationParams
    ) -> list[list[Generation]]:
        return [self.generate(messages, params) for messages in conversations]

    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[str]:
        """The answer's text as it arrives (server-sent events), one piece at a time."""
        try:
            with httpx.stream(
                "POST",
                self.url,
                json=self._body(messages, params, n=1, stream=True),
                headers=self._headers(),
                timeout=self.config.timeout_s,
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    response.raise_for_status()
                for line in response.iter_lines():
                    piece = _delta(line)
                    if piece is None:
                        break
                    if piece:
                        yield piece
        except httpx.HTTPError as exc:
            raise self._fail(exc) from exc

    async def astream(self, messages: list[Message], params: GenerationParams) -> AsyncIterator[str]:
        try:
            async with (
                httpx.AsyncClient(timeout=self.config.timeout_s) as client,
                client.stream(
                    "POST",
                    self.url,
                    json=self._body(messages, params, n=1, stream=True),
                    headers=self._headers(),
                ) as response,
            ):
                if response.status_code >= 400:
                    await response.aread()
                    response.raise_for_status()
                async for line in response.aiter_lines():
                    piece = _delta(line)
                    if piece is None:
                        break
                    if piece:
                        yield piece
        except httpx.HTTPError as exc:
            raise self._fail(exc) from exc


def _delta(line: str) -> str | None:
    """The text in one SSE line: "" for lines without any, None at the end of the stream."""
    if not line.startswith("data:"):
        return ""
    payload = line[5:].strip()
    if payload == "[DONE]":
        return None
    try:
        event = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise GenerationError(f"the endpoint sent a malformed event: {payload[:100]}") from exc
    choices = event.get("choices") or [{}]
    return (choices[0].get("delta") or {}).get("content") or ""
