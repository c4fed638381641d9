"""OpenAI-compatible chat completions over HTTP (vLLM, TGI, Ollama, hosted APIs), whole or streamed.

`base_url` ends where the API's paths start (".../v1"). Samples are asked for with `n` in one request;
a server that refuses `n` or answers with fewer choices gets the rest one request at a time (sample k
with seed + k), and the provider remembers that for its later calls.
"""

import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
from pydantic import SecretStr

from app.generation.base import (
    AsyncGenerationStream,
    Generation,
    GenerationError,
    GenerationParams,
    GenerationStream,
    Message,
    OpenAIConfig,
    Provider,
)

_EXCERPT = 300
# Statuses with which servers refuse a parameter they do not support (n > 1, stream_options).
_REFUSED = {400, 422}


class OpenAIProvider(Provider):
    def __init__(self, config: OpenAIConfig, *, api_key: str | None = None) -> None:
        self.config = config
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        # A SecretStr keeps the key out of reprs and tracebacks' locals.
        self._api_key = SecretStr(api_key) if api_key else None
        self._n_supported = True
        self._stream_usage = True
        self._client: httpx.Client | None = None

    # --- requests -------------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self.config.extra_headers}
        key = self._api_key.get_secret_value() if self._api_key else None
        if key is None and self.config.api_key_env:
            key = os.environ.get(self.config.api_key_env)
            if not key:
                raise GenerationError(
                    f"the environment variable {self.config.api_key_env} (the API key) is not set"
                )
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.config.timeout_s, connect=min(10.0, self.config.timeout_s))

    def _body(self, messages: list[Message], params: GenerationParams, *, n: int, seed: int | None) -> dict:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [m.model_dump() for m in messages],
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if n > 1:
            body["n"] = n
        if seed is not None:
            body["seed"] = seed
        if params.stop:
            body["stop"] = params.stop
        return body

    def _stream_body(self, messages: list[Message], params: GenerationParams) -> dict[str, Any]:
        body = self._body(messages, params, n=1, seed=params.seed) | {"stream": True}
        if self._stream_usage:
            body["stream_options"] = {"include_usage": True}
        return body

    def _http_client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout())
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _error(self, exc: Exception) -> GenerationError:
        where = f"{self.config.model} at {self.config.base_url}"
        if isinstance(exc, httpx.TimeoutException):
            return GenerationError(f"{where}: no answer within {self.config.timeout_s:g} s")
        if isinstance(exc, httpx.HTTPStatusError):
            return GenerationError(
                f"{where}: HTTP {exc.response.status_code} from the endpoint: {_excerpt(exc.response)}"
            )
        if isinstance(exc, httpx.HTTPError):
            return GenerationError(f"{where}: cannot reach the endpoint ({type(exc).__name__}: {exc})")
        return GenerationError(f"{where}: the endpoint's answer is not valid JSON")

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http_client().post(self.url, json=body, headers=self._headers())
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise self._error(exc) from exc
        if not isinstance(data, dict) or not data.get("choices"):
            raise GenerationError(f"{self.config.model}: the endpoint answered without choices")
        return data

    # --- whole answers --------------------------------------------------------------------------------

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        outputs: list[Generation] = []
        if params.n > 1 and self._n_supported:
            try:
                outputs = self._request(messages, params, n=params.n, seed=params.seed)
            except GenerationError as exc:
                if not _refused(exc.__cause__):
                    raise
                self._n_supported = False
            if len(outputs) < params.n:
                self._n_supported = False  # e.g. Ollama: n is ignored, one choice comes back
        while len(outputs) < params.n:
            k = len(outputs)
            seed = None if params.seed is None else params.seed + k
            outputs.extend(self._request(messages, params, n=1, seed=seed)[:1])
        return outputs[: params.n]

    def _request(
        self, messages: list[Message], params: GenerationParams, *, n: int, seed: int | None
    ) -> list[Generation]:
        started = time.perf_counter()
        data = self._post(self._body(messages, params, n=n, seed=seed))
        latency = int((time.perf_counter() - started) * 1000)
        choices = data["choices"]
        texts = [str((choice.get("message") or {}).get("content") or "") for choice in choices]
        usage = data.get("usage") or {}
        completion = _split_tokens(usage.get("completion_tokens"), texts)
        return [
            Generation(
                content=text,
                provider="openai",
                model=str(data.get("model") or self.config.model),
                params=params.model_dump(),
                latency_ms=latency,
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=tokens,
                seed=seed,
                finish_reason=choice.get("finish_reason"),
                extra={"tokens_estimated": True} if len(choices) > 1 and tokens is not None else {},
            )
            for choice, text, tokens in zip(choices, texts, completion, strict=True)
        ]

    def list_models(self) -> list[str]:
        """The model names the endpoint serves (a cheap check that it is up and the key works)."""
        try:
            response = self._http_client().get(
                self.config.base_url.rstrip("/") + "/models", headers=self._headers()
            )
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise self._error(exc) from exc
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise GenerationError(f"{self.config.base_url}: the endpoint's model list is malformed")
        return [str(entry.get("id")) for entry in entries if isinstance(entry, dict)]

    # --- streamed answers -----------------------------------------------------------------------------

    def stream(self, messages: list[Message], params: GenerationParams) -> GenerationStream:
        """One answer as it is written (server-sent events); see GenerationStream."""
        state = _StreamState()
        return GenerationStream(self._pieces(messages, params, state), self._finisher(params, state))

    def astream(self, messages: list[Message], params: GenerationParams) -> AsyncGenerationStream:
        state = _StreamState()
        return AsyncGenerationStream(self._apieces(messages, params, state), self._finisher(params, state))

    def _finisher(self, params: GenerationParams, state: "_StreamState") -> Callable[[str, int], Generation]:
        def finish(text: str, latency_ms: int) -> Generation:
            return Generation(
                content=text,
                provider="openai",
                model=state.model or self.config.model,
                params=params.model_dump(),
                latency_ms=latency_ms,
                prompt_tokens=state.usage.get("prompt_tokens"),
                completion_tokens=state.usage.get("completion_tokens"),
                seed=params.seed,
                finish_reason=state.finish_reason,
            )

        return finish

    def _pieces(
        self, messages: list[Message], params: GenerationParams, state: "_StreamState"
    ) -> Iterator[str]:
        deadline = time.monotonic() + self.config.timeout_s
        headers = self._headers()
        try:
            with httpx.Client(timeout=self._timeout()) as client:
                for attempt in (1, 2):
                    body = self._stream_body(messages, params)
                    with client.stream("POST", self.url, json=body, headers=headers) as response:
                        if response.status_code >= 400:
                            response.read()
                            if attempt == 1 and self._retry_without_usage(response, body):
                                continue
                            response.raise_for_status()
                        for line in response.iter_lines():
                            if state.read(line, self.config.model):
                                return
                            if state.piece:
                                yield state.piece
                            if time.monotonic() > deadline:
                                raise httpx.ReadTimeout("the answer took too long")
                    return
        except httpx.HTTPError as exc:
            raise self._error(exc) from exc

    async def _apieces(
        self, messages: list[Message], params: GenerationParams, state: "_StreamState"
    ) -> AsyncIterator[str]:
        deadline = time.monotonic() + self.config.timeout_s
        headers = self._headers()
        try:
            async with httpx.AsyncClient(timeout=self._timeout()) as client:
                for attempt in (1, 2):
                    body = self._stream_body(messages, params)
                    async with client.stream("POST", self.url, json=body, headers=headers) as response:
                        if response.status_code >= 400:
                            await response.aread()
                            if attempt == 1 and self._retry_without_usage(response, body):
                                continue
                            response.raise_for_status()
                        async for line in response.aiter_lines():
                            if state.read(line, self.config.model):
                                return
                            if state.piece:
                                yield state.piece
                            if time.monotonic() > deadline:
                                raise httpx.ReadTimeout("the answer took too long")
                    return
        except httpx.HTTPError as exc:
            raise self._error(exc) from exc

    def _retry_without_usage(self, response: httpx.Response, body: dict[str, Any]) -> bool:
        """Some servers refuse `stream_options`; ask again without it (and never again)."""
        if response.status_code in _REFUSED and "stream_options" in body:
            self._stream_usage = False
            return True
        return False


class _StreamState:
    """What the events of one stream said so far, besides the text."""

    def __init__(self) -> None:
        self.piece = ""
        self.model: str | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, int] = {}

    def read(self, line: str, model: str) -> bool:
        """Takes in one SSE line; True at the end of the stream."""
        self.piece = ""
        if not line.startswith("data:"):
            return False  # blank separators, comments, `event:` lines
        payload = line[5:].strip()
        if payload == "[DONE]":
            return True
        try:
            event = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise GenerationError(f"{model}: the endpoint sent a malformed event: {payload[:100]}") from exc
        if not isinstance(event, dict):
            raise GenerationError(f"{model}: the endpoint sent a malformed event: {payload[:100]}")
        if event.get("error"):
            # vLLM and others report a failure midway as an event of its own.
            error = event["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise GenerationError(f"{model}: the endpoint failed midway: {str(message)[:_EXCERPT]}")
        self.model = event.get("model") or self.model
        if event.get("usage"):
            self.usage = event["usage"]
        for choice in event.get("choices") or []:
            self.piece += (choice.get("delta") or {}).get("content") or ""
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        return False


def _excerpt(response: httpx.Response) -> str:
    """The error message in an answer's body (OpenAI's {"error": {"message"}} shape), or its start."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return str(message)[:_EXCERPT]
    except (ValueError, AttributeError):
        pass
    return response.text[:_EXCERPT].strip() or "(empty body)"


def _refused(cause: BaseException | None) -> bool:
    return isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code in _REFUSED


def _split_tokens(total: Any, texts: list[str]) -> list[int | None]:
    """Per-choice completion tokens. Servers give one total for all n choices: with several, it is shared
    out by length (and the generations say the count is an estimate)."""
    if not isinstance(total, int):
        return [None] * len(texts)
    if len(texts) == 1:
        return [total]
    lengths = [max(len(t), 1) for t in texts]
    shares = [total * length // sum(lengths) for length in lengths]
    shares[0] += total - sum(shares)
    return list(shares)
