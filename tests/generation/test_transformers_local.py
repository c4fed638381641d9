"""The local transformers provider on a tiny model built by the test: batches, seeds, chat templates,
stop strings, streams, devices and dtypes."""

import asyncio
from pathlib import Path

import pytest
import torch

from app.generation import GenerationError, GenerationParams, Message, TransformersConfig, make_provider
from workers.ml.generation.transformers_local import TransformersProvider

ASK = [Message(role="user", content="explain why the sky is blue ?")]
CONVERSATIONS = [
    ASK,
    [Message(role="user", content="what is the cat ?")],
    [Message(role="system", content="answer"), Message(role="user", content="how")],
]


@pytest.fixture(scope="module")
def provider(tiny_lm: Path) -> TransformersProvider:
    made = make_provider(TransformersConfig(path=str(tiny_lm), device="auto", batch_size=2))
    assert isinstance(made, TransformersProvider)
    return made


def texts(batch: list[list]) -> list[list[str | None]]:
    return [[g.content for g in samples] for samples in batch]


def test_batches_are_reproducible_per_seed(provider: TransformersProvider) -> None:
    params = GenerationParams(max_tokens=6, temperature=1.0, seed=7, n=2)
    first = provider.generate_batch(CONVERSATIONS, params)
    assert [len(samples) for samples in first] == [2, 2, 2]
    assert texts(provider.generate_batch(CONVERSATIONS, params)) == texts(first)
    assert texts(provider.generate_batch(CONVERSATIONS, params.model_copy(update={"seed": 8}))) != texts(
        first
    )

    sample = first[0][1]
    assert sample.provider == "transformers" and sample.model == provider.name
    assert [g.seed for g in first[0]] == [7, 8] and sample.params["temperature"] == 1.0
    assert all(g.completion_tokens and g.completion_tokens <= 6 for s in first for g in s)
    assert all(g.finish_reason in ("stop", "length") for s in first for g in s)
    assert [s[0].extra["batch_size"] for s in first] == [2, 2, 1]  # batch_size 2: two chunks


def test_without_a_seed_one_is_drawn_and_recorded(provider: TransformersProvider) -> None:
    params = GenerationParams(max_tokens=6, temperature=1.0)
    (drawn,) = provider.generate(ASK, params)
    assert drawn.seed is not None
    (again,) = provider.generate(ASK, params.model_copy(update={"seed": drawn.seed}))
    assert again.content == drawn.content


def test_a_batch_answers_as_single_prompts_do(provider: TransformersProvider) -> None:
    # Left padding and the attention mask keep the prompts of a batch apart (greedy: no randomness).
    greedy = GenerationParams(max_tokens=5, temperature=0)
    batched = provider.generate_batch(CONVERSATIONS, greedy)
    alone = [provider.generate(messages, greedy) for messages in CONVERSATIONS]
    assert texts(batched) == texts(alone)
    lengths = [
        len(provider.tokenizer(provider.prompt(m), add_special_tokens=False)["input_ids"])
        for m in CONVERSATIONS
    ]
    assert [s[0].prompt_tokens for s in batched] == lengths


def test_chat_template_or_plain_turns(provider: TransformersProvider, tiny_lm: Path) -> None:
    conversation = CONVERSATIONS[2]
    assert provider.prompt(conversation) == "system : answer user : how assistant :"
    plain = TransformersProvider(TransformersConfig(path=str(tiny_lm), chat_template=False))
    assert plain.prompt(conversation) == "System: answer\n\nUser: how\n\nAssistant:"
    assert plain.prompt(ASK) == ASK[0].content


def test_stop_strings_cut_the_answer(provider: TransformersProvider) -> None:
    greedy = GenerationParams(max_tokens=12, temperature=0)
    (whole,) = provider.generate(ASK, greedy)
    words = (whole.content or "").split()
    assert len(words) >= 3, whole.content  # the tiny model's weights are fixed: so is this answer
    stop = words[2]
    (cut,) = provider.generate(ASK, greedy.model_copy(update={"stop": [stop]}))
    assert cut.finish_reason == "stop" and stop not in (cut.content or "").split()
    assert (whole.content or "").startswith(cut.content or "")


def test_stream_and_astream_write_the_seeded_answer(provider: TransformersProvider) -> None:
    params = GenerationParams(max_tokens=8, temperature=1.0, seed=11)
    (whole,) = provider.generate(ASK, params)
    stream = provider.stream(ASK, params)
    pieces = list(stream)
    assert pieces and " ".join("".join(pieces).split()) == whole.content
    answer = stream.generation
    assert answer is not None and answer.seed == 11 and answer.completion_tokens == whole.completion_tokens
    assert answer.prompt_tokens == whole.prompt_tokens and answer.finish_reason == whole.finish_reason

    async def collect() -> str:
        async with provider.astream(ASK, params) as streamed:
            return "".join([piece async for piece in streamed])

    assert asyncio.run(collect()) == "".join(pieces)


def test_closing_a_stream_frees_the_model(provider: TransformersProvider) -> None:
    stream = provider.stream(ASK, GenerationParams(max_tokens=200, temperature=1.0, seed=1))
    next(stream, None)
    stream.close()
    # The model's lock is free again: another call does not wait for the abandoned answer.
    assert provider._lock.acquire(timeout=5)
    provider._lock.release()
    assert provider.generate(ASK, GenerationParams(max_tokens=2))


def test_dtype_option(tiny_lm: Path) -> None:
    half = TransformersProvider(TransformersConfig(path=str(tiny_lm), device="cpu", dtype="bfloat16"))
    assert half.model.dtype == torch.bfloat16 and half.device.type == "cpu"
    assert half.generate(ASK, GenerationParams(max_tokens=3, seed=1))[0].completion_tokens


def test_bad_paths_and_devices_are_explained(tiny_lm: Path, tmp_path: Path) -> None:
    with pytest.raises(GenerationError, match="no model directory"):
        make_provider(TransformersConfig(path=str(tiny_lm / "missing")))
    with pytest.raises(GenerationError, match="cannot load a language model"):
        make_provider(TransformersConfig(path=str(tmp_path)))
    if not torch.cuda.is_available():
        with pytest.raises(GenerationError, match="no GPU is visible"):
            make_provider(TransformersConfig(path=str(tiny_lm), device="cuda"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_auto_device_takes_the_gpu(tiny_lm: Path) -> None:
    gpu = TransformersProvider(TransformersConfig(path=str(tiny_lm)))
    assert gpu.device.type == "cuda" and gpu.model.dtype in (torch.bfloat16, torch.float16)
    params = GenerationParams(max_tokens=4, seed=3, n=2)
    assert texts(gpu.generate_batch(CONVERSATIONS, params)) == texts(
        gpu.generate_batch(CONVERSATIONS, params)
    )
