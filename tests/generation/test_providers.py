"""Every provider against the real thing: a live OpenAI-compatible server, a local model, a program."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from app.generation import (
    CommandConfig,
    GenerationError,
    GenerationParams,
    Message,
    OpenAIConfig,
    ReplayConfig,
    TransformersConfig,
    make_provider,
)
from tests.support.openai_server import OpenAIServer

ASK = [Message(role="user", content="explain why the sky is blue ?")]


def test_openai_provider_plain_streamed_and_with_samples(openai_server: OpenAIServer) -> None:
    provider = make_provider(OpenAIConfig(base_url=openai_server.base_url, model="tiny", timeout_s=30))
    outputs = provider.generate(ASK, GenerationParams(max_tokens=8, n=2, seed=3))
    assert len(outputs) == 2 and all(o.content for o in outputs)
    first = outputs[0]
    assert first.provider == "openai" and first.model
    assert first.prompt_tokens and first.completion_tokens and first.latency_ms >= 0 and first.seed == 3
    pieces = list(provider.stream(ASK, GenerationParams(max_tokens=8, seed=1)))  # type: ignore[attr-defined]
    assert pieces and "".join(pieces).strip()

    async def collect() -> list[str]:
        return [p async for p in provider.astream(ASK, GenerationParams(max_tokens=8, seed=1))]  # type: ignore[attr-defined]

    assert "".join(asyncio.run(collect())) == "".join(pieces)


def test_openai_provider_errors_are_clear(openai_server: OpenAIServer) -> None:
    provider = make_provider(OpenAIConfig(base_url=openai_server.base_url, model="tiny", timeout_s=1))
    openai_server.mode = "fail"
    with pytest.raises(GenerationError, match=r"HTTP 500 .*model crashed"):
        provider.generate(ASK, GenerationParams(max_tokens=4))
    openai_server.mode = "stall"
    with pytest.raises(GenerationError, match="no answer within 1 s"):
        provider.generate(ASK, GenerationParams(max_tokens=4))
    unreachable = make_provider(OpenAIConfig(base_url="http://127.0.0.1:9/v1", model="x", timeout_s=2))
    with pytest.raises(GenerationError, match="cannot reach"):
        unreachable.generate(ASK, GenerationParams())
    keyed = make_provider(
        OpenAIConfig(base_url=openai_server.base_url, model="x", api_key_env="PREFLAB_TEST_NO_KEY")
    )
    with pytest.raises(GenerationError, match="PREFLAB_TEST_NO_KEY"):
        keyed.generate(ASK, GenerationParams())


def test_local_transformers_model_batches_and_is_reproducible(tiny_lm: Path) -> None:
    provider = make_provider(TransformersConfig(path=str(tiny_lm), device="auto", batch_size=2))
    conversations = [
        ASK,
        [Message(role="user", content="what is the cat ?")],
        [Message(role="user", content="how")],
    ]
    params = GenerationParams(max_tokens=6, temperature=1.0, seed=7, n=2)
    first = provider.generate_batch(conversations, params)
    again = provider.generate_batch(conversations, params)
    assert [len(samples) for samples in first] == [2, 2, 2]
    assert [[g.content for g in s] for s in first] == [[g.content for g in s] for s in again]
    assert all(g.completion_tokens and g.completion_tokens <= 6 for s in first for g in s)
    assert first[0][0].provider == "transformers" and first[0][0].seed == 7 and first[0][1].seed == 8
    with pytest.raises(GenerationError, match="no model directory"):
        make_provider(TransformersConfig(path=str(tiny_lm / "missing")))


def test_command_provider_captures_a_file_and_reports_failures(tmp_path: Path) -> None:
    writer = (
        "import sys, wave; w = wave.open(sys.argv[1], 'wb'); w.setnchannels(1); w.setsampwidth(2); "
        "w.setframerate(8000); w.writeframes(bytes(1600 * int(sys.argv[2]))); w.close()"
    )
    provider = make_provider(
        CommandConfig(
            argv=[sys.executable, "-c", writer, "{output}", "{seed}"],
            output_suffix=".wav",
            media_type="audio/wav",
        )
    )
    outputs = provider.generate(ASK, GenerationParams(n=2, seed=1))
    assert [o.media_path.suffix for o in outputs if o.media_path] == [".wav", ".wav"]
    assert outputs[0].media_path.read_bytes()[:4] == b"RIFF" and outputs[0].content is None
    assert outputs[1].media_path.stat().st_size > outputs[0].media_path.stat().st_size  # seed 2 > seed 1
    text = make_provider(
        CommandConfig(
            argv=[
                sys.executable,
                "-c",
                "import sys; open(sys.argv[1], 'w').write(sys.argv[2].upper())",
                "{output}",
                "{prompt}",
            ]
        )
    )
    assert (
        text.generate([Message(role="user", content="hi; rm -rf /")], GenerationParams())[0].content
        == "HI; RM -RF /"
    )
    failing = make_provider(CommandConfig(argv=[sys.executable, "-c", "import sys; sys.exit('boom')"]))
    with pytest.raises(GenerationError, match="exited 1: boom"):
        failing.generate(ASK, GenerationParams())
    slow = make_provider(
        CommandConfig(argv=[sys.executable, "-c", "import time; time.sleep(5)"], timeout_s=0.5)
    )
    with pytest.raises(GenerationError, match=r"longer than 0\.5 s"):
        slow.generate(ASK, GenerationParams())
    with pytest.raises(GenerationError, match="command not found"):
        make_provider(CommandConfig(argv=["/nonexistent/tts"])).generate(ASK, GenerationParams())


def test_replay_hands_back_recorded_outputs() -> None:
    provider = make_provider(ReplayConfig(outputs={"hello": ["one", "two", "three"]}))
    assert [
        g.content for g in provider.generate([Message(role="user", content="hello")], GenerationParams(n=2))
    ] == ["one", "two"]
    with pytest.raises(GenerationError, match="no recorded output"):
        provider.generate(ASK, GenerationParams())


def test_importing_the_providers_does_not_import_torch() -> None:
    code = "import app.generation, sys; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
