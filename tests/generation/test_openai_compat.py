"""The OpenAI-compatible provider against a live server on a tiny local model: whole answers, samples,
streams (sync and async), keys, and every way the endpoint can fail."""

import asyncio
import time

import pytest

from app.generation import (
    AsyncGenerationStream,
    GenerationError,
    GenerationParams,
    Message,
    OpenAIConfig,
    StreamingProvider,
    make_provider,
)
from app.generation.openai_compat import OpenAIProvider
from tests.support.openai_server import OpenAIServer, serve_openai

ASK = [
    Message(role="system", content="answer why"),
    Message(role="user", content="explain why the sky is blue ?"),
]


def provider_for(server: OpenAIServer, **config: object) -> OpenAIProvider:
    provider = make_provider(OpenAIConfig(base_url=server.base_url, model="tiny", **config))  # type: ignore[arg-type]
    assert isinstance(provider, OpenAIProvider)
    return provider


def test_samples_come_back_with_usage_latency_and_seed(openai_server: OpenAIServer) -> None:
    provider = provider_for(openai_server, timeout_s=30)
    outputs = provider.generate(ASK, GenerationParams(max_tokens=8, n=2, seed=3, temperature=1.0))

    assert len(outputs) == 2 and all(o.content for o in outputs)
    body = openai_server.last_body
    assert body["n"] == 2 and body["seed"] == 3 and body["model"] == "tiny" and body["max_tokens"] == 8
    assert body["messages"][0] == {"role": "system", "content": "answer why"}
    assert len(openai_server.requests) == 1  # both samples in one request
    first = outputs[0]
    assert (
        first.provider == "openai"
        and first.model == openai_server.model
        and first.finish_reason in ("stop", "length")
    )
    assert first.prompt_tokens and first.latency_ms >= 0 and first.seed == 3
    # The server counts completion tokens for both samples together; they are shared out, estimated.
    served = sum(o.completion_tokens or 0 for o in outputs)
    assert 2 <= served <= 16 and first.extra["tokens_estimated"] is True
    assert first.metadata()["params"]["n"] == 2 and "content" not in first.metadata()


def test_one_sample_reports_exact_tokens(openai_server: OpenAIServer) -> None:
    (output,) = provider_for(openai_server).generate(ASK, GenerationParams(max_tokens=5, seed=1))
    assert "n" not in openai_server.last_body  # n=1 is the default; servers without n accept this
    assert 1 <= (output.completion_tokens or 0) <= 5 and output.extra == {}


def test_a_server_that_refuses_n_gets_one_request_per_sample(openai_server: OpenAIServer) -> None:
    openai_server.supports_n = False
    provider = provider_for(openai_server)
    params = GenerationParams(max_tokens=4, n=3, seed=10, temperature=1.0)

    outputs = provider.generate(ASK, params)
    assert len(outputs) == 3 and [o.seed for o in outputs] == [10, 11, 12]
    sent = [(r["body"].get("n"), r["body"].get("seed")) for r in openai_server.requests]
    assert sent == [(3, 10), (None, 10), (None, 11), (None, 12)]  # refused once, then one per sample

    openai_server.requests.clear()
    assert len(provider.generate(ASK, params)) == 3
    assert all("n" not in r["body"] for r in openai_server.requests)  # it remembers


def test_stream_yields_pieces_then_the_whole_answer(openai_server: OpenAIServer) -> None:
    provider = provider_for(openai_server)
    assert isinstance(provider, StreamingProvider)
    params = GenerationParams(max_tokens=8, seed=5, temperature=1.0)

    stream = provider.stream(ASK, params)
    pieces = list(stream)
    assert len(pieces) >= 2 and all(pieces)
    body = openai_server.last_body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    answer = stream.generation
    assert answer is not None and answer.content == "".join(pieces) == stream.text
    assert (
        answer.model == openai_server.model
        and answer.seed == 5
        and answer.finish_reason in ("stop", "length")
    )
    assert answer.prompt_tokens and answer.completion_tokens and answer.completion_tokens <= 8
    assert 0 <= answer.extra["first_token_ms"] <= answer.latency_ms

    # Same seed, same server: the whole answer is the stream's text.
    (whole,) = provider.generate(ASK, params)
    assert " ".join((whole.content or "").split()) == " ".join(answer.content.split())


def test_astream_gives_the_same_answer(openai_server: OpenAIServer) -> None:
    provider = provider_for(openai_server)
    params = GenerationParams(max_tokens=8, seed=5, temperature=1.0)
    expected = "".join(provider.stream(ASK, params))

    async def collect() -> tuple[list[str], AsyncGenerationStream]:
        stream = provider.astream(ASK, params)
        return [piece async for piece in stream], stream

    pieces, stream = asyncio.run(collect())
    assert "".join(pieces) == expected
    assert stream.generation is not None and stream.generation.content == expected


def test_both_sides_of_a_battle_stream_concurrently(openai_server: OpenAIServer) -> None:
    openai_server.piece_delay_s = 0.1
    provider = provider_for(openai_server)
    params = GenerationParams(max_tokens=6, seed=2, temperature=1.0)
    arrivals: list[tuple[str, float]] = []

    async def side(name: str) -> str:
        async with provider.astream(ASK, params) as stream:
            async for _ in stream:
                arrivals.append((name, time.monotonic()))
            return stream.text

    async def battle() -> list[str]:
        return list(await asyncio.gather(side("a"), side("b")))

    left, right = asyncio.run(battle())
    assert left == right  # same seed on both sides
    order = [name for name, _ in arrivals]
    assert order.index("b") < len(order) - order[::-1].index("a") - 1  # b began before a ended


def test_closing_a_stream_early_is_clean(openai_server: OpenAIServer) -> None:
    openai_server.piece_delay_s = 0.2
    stream = provider_for(openai_server).stream(ASK, GenerationParams(max_tokens=30, seed=1))
    started = time.monotonic()
    first = next(stream)
    stream.close()
    assert first and stream.generation is None and time.monotonic() - started < 3
    with pytest.raises(StopIteration):
        next(stream)


def test_http_errors_carry_status_and_message(openai_server: OpenAIServer) -> None:
    provider = provider_for(openai_server)
    openai_server.mode = "fail"
    with pytest.raises(GenerationError, match=r"HTTP 500 from the endpoint: model crashed"):
        provider.generate(ASK, GenerationParams(max_tokens=4))
    with pytest.raises(GenerationError, match=r"HTTP 500 .*model crashed"):
        list(provider.stream(ASK, GenerationParams(max_tokens=4)))

    async def consume() -> None:
        async for _ in provider.astream(ASK, GenerationParams(max_tokens=4)):
            pass

    with pytest.raises(GenerationError, match=r"HTTP 500"):
        asyncio.run(consume())


def test_a_stalled_endpoint_times_out(openai_server: OpenAIServer) -> None:
    provider = provider_for(openai_server, timeout_s=0.5)
    openai_server.mode = "stall"
    started = time.monotonic()
    with pytest.raises(GenerationError, match=r"no answer within 0\.5 s"):
        provider.generate(ASK, GenerationParams(max_tokens=4))
    with pytest.raises(GenerationError, match=r"no answer within 0\.5 s"):
        list(provider.stream(ASK, GenerationParams(max_tokens=4)))
    assert time.monotonic() - started < 5


def test_a_stream_that_stalls_or_fails_midway_ends_with_a_message(openai_server: OpenAIServer) -> None:
    provider = provider_for(openai_server, timeout_s=0.5)
    openai_server.mode = "stall_midway"
    stream = provider.stream(ASK, GenerationParams(max_tokens=8))
    assert next(stream)  # the first piece arrives, then nothing
    with pytest.raises(GenerationError, match="no answer within"):
        next(stream)
    assert stream.generation is None and stream.text

    openai_server.mode = "fail_midway"

    async def consume() -> list[str]:
        return [piece async for piece in provider.astream(ASK, GenerationParams(max_tokens=8))]

    with pytest.raises(GenerationError, match="failed midway: the model fell over"):
        asyncio.run(consume())


def test_unreachable_endpoint() -> None:
    provider = make_provider(OpenAIConfig(base_url="http://127.0.0.1:9/v1", model="x", timeout_s=2))
    with pytest.raises(GenerationError, match="cannot reach the endpoint"):
        provider.generate(ASK, GenerationParams())


def test_keys_come_from_run_time_or_the_environment_and_are_never_shown(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_server.api_key = "sk-test-123"
    with pytest.raises(GenerationError, match=r"HTTP 401 .*invalid API key") as refused:
        provider_for(openai_server).generate(ASK, GenerationParams(max_tokens=2))

    given = make_provider(
        OpenAIConfig(base_url=openai_server.base_url, model="tiny", extra_headers={"X-Team": "prefs"}),
        api_key="sk-test-123",
    )
    assert given.generate(ASK, GenerationParams(max_tokens=2))[0].content is not None
    headers = openai_server.requests[-1]["headers"]
    assert headers["authorization"] == "Bearer sk-test-123" and headers["x-team"] == "prefs"
    assert "sk-test-123" not in repr(given.__dict__)

    from_env = provider_for(openai_server, api_key_env="PREFLAB_TEST_KEY")
    with pytest.raises(GenerationError, match=r"PREFLAB_TEST_KEY .* is not set"):
        from_env.generate(ASK, GenerationParams())
    monkeypatch.setenv("PREFLAB_TEST_KEY", "sk-test-123")
    assert from_env.list_models() == [openai_server.model]
    monkeypatch.setenv("PREFLAB_TEST_KEY", "sk-wrong-456")
    with pytest.raises(GenerationError) as wrong:
        from_env.generate(ASK, GenerationParams(max_tokens=2))
    assert "sk-" not in str(wrong.value) + str(refused.value)


def test_the_echo_server_needs_no_model() -> None:
    with serve_openai() as server:
        provider = make_provider(OpenAIConfig(base_url=server.base_url, model="echo"))
        params = GenerationParams(max_tokens=3)
        assert [o.content for o in provider.generate(ASK, params)] == ["explain why the"]
        stream = provider.stream(ASK, params)
        assert list(stream) == ["explain", " why", " the"]
        assert stream.generation and stream.generation.completion_tokens == 3
        assert stream.generation.finish_reason == "length"
