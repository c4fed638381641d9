"""A local causal language model from a directory (transformers), batched, seeded, CUDA when present."""

import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import torch

from app.generation.base import (
    Generation,
    GenerationError,
    GenerationParams,
    Message,
    TransformersConfig,
    prompt_text,
)

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class TransformersProvider:
    def __init__(self, config: TransformersConfig) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(config.path)
        if not path.is_dir():
            raise GenerationError(f"no model directory at {path}")
        if config.device == "cuda" and not torch.cuda.is_available():
            raise GenerationError("device cuda was asked for, but no GPU is visible")
        self.device = torch.device("cuda" if config.device != "cpu" and torch.cuda.is_available() else "cpu")
        dtype = _DTYPES.get(config.dtype, torch.float16 if self.device.type == "cuda" else torch.float32)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise GenerationError(f"cannot load a language model from {path}: {exc}") from exc
        self.model.to(self.device).eval()
        # Decoder-only models continue from the right: pad on the left when batching.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.config = config
        self.name = path.name
        self._lock = threading.Lock()

    def _prompt(self, messages: list[Message]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return str(
                self.tokenizer.apply_chat_template(
                    [m.model_dump() for m in messages], tokenize=False, add_generation_prompt=True
                )
            )
        return prompt_text(messages)

    def _kwargs(self, params: GenerationParams) -> dict[str, object]:
        sampling = params.temperature > 0
        kwargs: dict[str, object] = {
            "max_new_tokens": params.max_tokens,
            "do_sample": sampling,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if sampling:
            kwargs |= {"temperature": params.temperature, "top_p": params.top_p}
        return kwargs

    @torch.no_grad()
    def generate_batch(
        self, conversations: list[list[Message]], params: GenerationParams
    ) -> list[list[Generation]]:
        prompts = [self._prompt(messages) for messages in conversations]
        results: list[list[Generation]] = [[] for _ in prompts]
        for start in range(0, len(prompts), self.config.batch_size):
            chunk = prompts[start : start + self.config.batch_size]
            encoded = self.tokenizer(chunk, return_tensors="pt", padding=True).to(self.device)
            for sample in range(params.n):
                seed = (params.seed if params.seed is not None else 0) + sample
                started = time.perf_counter()
                with self._lock:  # one generate at a time per model: the global seed is shared
                    torch.manual_seed(seed)
                    output = self.model.generate(**encoded, **self._kwargs(params))
                latency = int((time.perf_counter() - started) * 1000)
                new_tokens = output[:, encoded["input_ids"].shape[1] :]
                for offset, tokens in enumerate(new_tokens):
                    produced = int((tokens != self.tokenizer.pad_token_id).sum())
                    results[start + offset].append(
                        Generation(
                            content=self.tokenizer.decode(tokens, skip_special_tokens=True).strip(),
                            provider="transformers",
                            model=self.name,
                            params=params.model_dump(),
                            latency_ms=latency,
                            prompt_tokens=int(encoded["attention_mask"][offset].sum()),
                            completion_tokens=produced,
                            seed=seed,
                            finish_reason="length" if produced >= params.max_tokens else "stop",
                        )
                    )
        return results

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        return self.generate_batch([messages], params)[0]

    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        encoded = self.tokenizer([self._prompt(messages)], return_tensors="pt").to(self.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)

        def run() -> None:
            with self._lock, torch.no_grad():
                torch.manual_seed(params.seed or 0)
                self.model.generate(**encoded, streamer=streamer, **self._kwargs(params))

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        yield from (piece for piece in streamer if piece)
        worker.join()

    async def astream(self, messages: list[Message], params: GenerationParams) -> AsyncIterator[str]:
        import asyncio

        loop = asyncio.get_running_loop()
        pieces = self.stream(messages, params)
        sentinel = object()
        while (piece := await loop.run_in_executor(None, next, pieces, sentinel)) is not sentinel:
            yield str(piece)
