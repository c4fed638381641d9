"""A local causal language model from a directory (transformers): batched, seeded, streamed; on the GPU
when one is visible.

Sample k of a call uses seed + k (a random base seed when none is given, recorded either way). The
same seed gives the same output for the same batch; batching other prompts alongside changes the draws,
as it does on any server.
"""

import asyncio
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import torch
import transformers
from packaging.version import Version
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from app.generation.base import (
    AsyncGenerationStream,
    Generation,
    GenerationError,
    GenerationParams,
    GenerationStream,
    Message,
    Provider,
    TransformersConfig,
    prompt_text,
)
from workers.ml.generation.devices import pick_device, pick_dtype

# transformers 4.56 renamed from_pretrained's `torch_dtype` to `dtype`.
_DTYPE_ARG = "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"


class TransformersProvider(Provider):
    def __init__(self, config: TransformersConfig) -> None:
        path = Path(config.path)
        if not path.is_dir():
            raise GenerationError(f"no model directory at {path}")
        self.config = config
        self.name = path.name
        self.device = pick_device(config.device)
        dtype = pick_dtype(config.dtype, self.device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                path, local_files_only=True, **{_DTYPE_ARG: dtype}
            )
        except (OSError, ValueError, KeyError) as exc:
            raise GenerationError(f"cannot load a language model from {path}: {exc}") from exc
        self.model.to(self.device).eval()
        # Decoder-only models continue on the right, so a batch is padded on the left.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            if self.tokenizer.eos_token is None:
                raise GenerationError(f"the tokenizer in {path} has neither a padding nor an end token")
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._templated = bool(config.chat_template and getattr(self.tokenizer, "chat_template", None))
        self._eos = _token_ids(self.model.generation_config.eos_token_id, self.tokenizer.eos_token_id)
        # One generate at a time per model: seeds are global to torch, and fast tokenizers are not
        # safe to share between threads.
        self._lock = threading.Lock()

    # --- prompts and settings -------------------------------------------------------------------------

    def prompt(self, messages: list[Message]) -> str:
        """The text the model continues: the chat template's rendering, or plain role-prefixed turns."""
        if self._templated:
            rendered = self.tokenizer.apply_chat_template(
                [m.model_dump() for m in messages], tokenize=False, add_generation_prompt=True
            )
            return str(rendered)
        return prompt_text(messages)

    def _encode(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        # A chat template writes its own special tokens (BOS); adding them again would double them.
        encoded = self.tokenizer(
            prompts,
            return_tensors="pt",
            padding=True,
            add_special_tokens=not self._templated,
            return_token_type_ids=False,
        )
        return {key: value.to(self.device) for key, value in encoded.items()}

    def _sampling(self, params: GenerationParams) -> dict[str, Any]:
        sampling = params.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "do_sample": sampling,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if sampling:
            kwargs |= {"temperature": params.temperature, "top_p": params.top_p}
        return kwargs

    def _run(
        self, prompts: list[str], params: GenerationParams, seed: int, **extra: Any
    ) -> tuple[torch.Tensor, int, list[int]]:
        """model.generate under the lock, seeded: the output, the prompts' padded width, their lengths."""
        with self._lock, torch.inference_mode():
            encoded = self._encode(prompts)
            width = encoded["input_ids"].shape[1]
            criteria = StoppingCriteriaList(extra.pop("stopping_criteria", []))
            if params.stop:
                criteria.append(_StopStrings(self.tokenizer, params.stop, width))
            torch.manual_seed(seed)
            try:
                output = self.model.generate(
                    **encoded, **self._sampling(params), stopping_criteria=criteria, **extra
                )
            except torch.cuda.OutOfMemoryError as exc:
                raise GenerationError(
                    f"{self.name}: out of GPU memory (a batch of {len(prompts)}): "
                    "lower batch_size or max_tokens"
                ) from exc
            except (RuntimeError, ValueError, IndexError) as exc:
                raise GenerationError(f"{self.name}: generation failed: {exc}") from exc
        return output, width, encoded["attention_mask"].sum(dim=1).tolist()

    # --- whole answers --------------------------------------------------------------------------------

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        return self.generate_batch([messages], params)[0]

    def generate_batch(
        self, conversations: list[list[Message]], params: GenerationParams
    ) -> list[list[Generation]]:
        prompts = [self.prompt(messages) for messages in conversations]
        base_seed = params.seed if params.seed is not None else random.randrange(2**31)
        results: list[list[Generation]] = [[] for _ in prompts]
        for start in range(0, len(prompts), self.config.batch_size):
            chunk = prompts[start : start + self.config.batch_size]
            for k in range(params.n):
                started = time.perf_counter()
                output, width, prompt_lengths = self._run(chunk, params, base_seed + k)
                latency = int((time.perf_counter() - started) * 1000)
                for row, tokens in enumerate(output[:, width:].tolist()):
                    generation = self._generation(tokens, params, seed=base_seed + k, latency_ms=latency)
                    generation.prompt_tokens = int(prompt_lengths[row])
                    generation.extra["batch_size"] = len(chunk)
                    results[start + row].append(generation)
        return results

    def _generation(
        self, tokens: list[int], params: GenerationParams, *, seed: int, latency_ms: int
    ) -> Generation:
        produced, text, finish = self._read_output(tokens, params)
        return Generation(
            content=text,
            provider="transformers",
            model=self.name,
            params=params.model_dump(),
            latency_ms=latency_ms,
            completion_tokens=produced,
            seed=seed,
            finish_reason=finish,
        )

    def _read_output(self, tokens: list[int], params: GenerationParams) -> tuple[int, str, str]:
        """Tokens produced (up to and with the end token), the text (cut before a stop string), and
        why it ended."""
        end = next((i for i, token in enumerate(tokens) if token in self._eos), None)
        produced = len(tokens) if end is None else end + 1
        text = self.tokenizer.decode(tokens[:produced], skip_special_tokens=True)
        cut = min((i for i in (text.find(s) for s in params.stop) if i >= 0), default=None)
        if cut is not None:
            return produced, text[:cut].strip(), "stop"
        if end is None and produced >= params.max_tokens:
            return produced, text.strip(), "length"
        return produced, text.strip(), "stop"

    # --- streamed answers -----------------------------------------------------------------------------

    def stream(self, messages: list[Message], params: GenerationParams) -> GenerationStream:
        """One answer as it is written; closing the stream stops the model at its next token."""
        return self._stream(messages, params, threading.Event())

    def astream(self, messages: list[Message], params: GenerationParams) -> AsyncGenerationStream:
        cancel = threading.Event()
        pieces = self._stream(messages, params, cancel)

        async def hop() -> AsyncIterator[str]:
            # The model writes in a thread of its own; each piece is awaited off the event loop.
            try:
                while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
                    yield piece
            finally:
                cancel.set()

        return AsyncGenerationStream(hop(), lambda _text, _ms: _finished(pieces))

    def _stream(
        self, messages: list[Message], params: GenerationParams, cancel: threading.Event
    ) -> GenerationStream:
        seed = params.seed if params.seed is not None else random.randrange(2**31)
        outcome: dict[str, Any] = {}

        def pieces() -> Iterator[str]:
            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)

            def run() -> None:
                try:
                    output, width, lengths = self._run(
                        [self.prompt(messages)],
                        params,
                        seed,
                        streamer=streamer,
                        stopping_criteria=[_Cancelled(cancel)],
                    )
                    outcome["tokens"] = output[0, width:].tolist()
                    outcome["prompt_tokens"] = int(lengths[0])
                except Exception as exc:  # anything: the reader waits on the streamer until it ends
                    outcome["error"] = (
                        exc
                        if isinstance(exc, GenerationError)
                        else GenerationError(f"{self.name}: generation failed: {exc}")
                    )
                    streamer.end()

            worker = threading.Thread(target=run, name=f"generate-{self.name}", daemon=True)
            worker.start()
            try:
                yield from (piece for piece in streamer if piece)
            finally:
                cancel.set()
                # An abandoned stream may be collected on the worker itself, which cannot wait for itself.
                if worker is not threading.current_thread():
                    worker.join()
            if "error" in outcome:
                raise outcome["error"]

        def finish(text: str, latency_ms: int) -> Generation:
            produced, _, finish_reason = self._read_output(outcome.get("tokens", []), params)
            return Generation(
                content=text.strip(),
                provider="transformers",
                model=self.name,
                params=params.model_dump(),
                latency_ms=latency_ms,
                prompt_tokens=outcome.get("prompt_tokens"),
                completion_tokens=produced,
                seed=seed,
                finish_reason=finish_reason,
            )

        return GenerationStream(pieces(), finish)


class _Cancelled(StoppingCriteria):
    """Stops generating once the reader of a stream has gone."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        return torch.full(
            (input_ids.shape[0],), self.cancel.is_set(), dtype=torch.bool, device=input_ids.device
        )


class _StopStrings(StoppingCriteria):
    """Ends a row once its answer contains a stop string. Decoding is the only way that works with every
    tokenizer (transformers' own `stop_strings` needs a BPE-like vocabulary); the tail suffices."""

    def __init__(self, tokenizer: Any, stops: list[str], width: int) -> None:
        self.tokenizer = tokenizer
        self.stops = stops
        self.width = width
        self.tail = max(len(stop) for stop in stops) + 2  # a token holds at least one character

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        answers = input_ids[:, self.width :]
        tails = self.tokenizer.batch_decode(answers[:, -self.tail :], skip_special_tokens=True)
        hits = [any(stop in text for stop in self.stops) for text in tails]
        return torch.tensor(hits, dtype=torch.bool, device=input_ids.device)


def _finished(stream: GenerationStream) -> Generation:
    if stream.generation is None:
        raise GenerationError("the stream ended before the answer was complete")
    return stream.generation


def _token_ids(*values: int | list[int] | None) -> set[int]:
    ids: set[int] = set()
    for value in values:
        if isinstance(value, int):
            ids.add(value)
        elif value:
            ids.update(value)
    return ids
