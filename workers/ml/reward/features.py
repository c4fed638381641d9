"""What the reward model sees of a (prompt, response): hashed word n-grams of the response, length
features, and with a transformer encoder a pooled embedding (frozen and cached, or trained with LoRA)."""

import itertools
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from workers.ml.reward.encoders import EncoderSpec, TransformerEncoder

HASH_BUCKETS = 1 << 18
MAX_WORDS = 2000
_WORD = re.compile(r"\w+|[^\w\s]")
N_LENGTH_FEATURES = 5


def hashed_ngrams(text: str) -> tuple[list[int], list[float]]:
    """Word unigrams and bigrams hashed into HASH_BUCKETS (crc32: stable across processes), with
    sublinear term frequencies (1 + log tf) scaled to unit L2 norm: a long answer does not win by
    repeating itself, and every answer weighs the same in a batch (Manning et al., Introduction to
    Information Retrieval, 2008, sections 6.4.1 and 6.3.1). Measured on HH-RLHF harmless (5-fold CV on
    the benchmark's training pairs): 0.633 against 0.622 with the mean of raw counts."""
    words = _WORD.findall(text.lower())[:MAX_WORDS]
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    counts = Counter(zlib.crc32(g.encode()) % HASH_BUCKETS for g in grams)
    if not counts:
        return [0], [0.0]
    ids = list(counts)
    values = [1.0 + math.log(counts[i]) for i in ids]
    norm = math.sqrt(sum(v * v for v in values))
    return ids, [v / norm for v in values]


def length_features(prompt: str, response: str) -> list[float]:
    words = len(response.split())
    return [
        math.log1p(len(response)) / 10,
        math.log1p(words) / 8,
        response.count("\n") / 20,
        float("?" in response),
        math.log1p(len(prompt)) / 10,
    ]


@dataclass
class Batch:
    ids: torch.Tensor  # flat hashed n-gram ids (empty without hashing)
    weights: torch.Tensor  # one weight per id
    offsets: torch.Tensor  # where each example's ids start
    dense: torch.Tensor  # [batch, dense features]: lengths, and frozen embeddings when there are some
    tokens: dict[str, torch.Tensor] = field(default_factory=dict)  # for an encoder trained end to end

    def to(self, device: torch.device) -> "Batch":
        return Batch(
            self.ids.to(device),
            self.weights.to(device),
            self.offsets.to(device),
            self.dense.to(device),
            {k: v.to(device) for k, v in self.tokens.items()},
        )


class Featurizer:
    """Turns texts into a Batch. Hashed n-grams and frozen embeddings are computed once per text and
    cached; with `trainable`, the transformer is left to the model (see RewardNet) and only tokenised."""

    def __init__(
        self,
        encoder: str,
        *,
        max_length: int = 256,
        device: torch.device | None = None,
        trainable: bool = False,
    ) -> None:
        self.encoder = encoder
        self.spec = EncoderSpec.parse(encoder)
        self.trainable = trainable
        self.device = device or torch.device("cpu")
        self.transformer: TransformerEncoder | None = None
        if self.spec.transformer is not None:
            self.transformer = TransformerEncoder(
                self.spec.transformer, max_length=max_length, device=self.device
            )
        elif trainable:
            raise ValueError("LoRA fine-tunes a transformer: use minilm or a model directory as the encoder")
        self._ngrams: dict[str, tuple[list[int], list[float]]] = {}

    @property
    def dense_dim(self) -> int:
        frozen = self.transformer is not None and not self.trainable
        return N_LENGTH_FEATURES + (self.transformer.dim if frozen and self.transformer else 0)

    @property
    def encoder_dim(self) -> int:
        """Width of the embedding the model computes itself (trained end to end), else 0."""
        return self.transformer.dim if self.trainable and self.transformer is not None else 0

    def prepare(
        self, prompts: list[str], responses: list[str], *, progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Computes every cached feature up front (frozen embeddings in length order: much faster)."""
        if self.spec.hashing:
            for response in responses:
                self._hashed(response)
        if self.transformer is not None and not self.trainable:
            self.transformer.embed(prompts, responses, progress=progress)

    def _hashed(self, response: str) -> tuple[list[int], list[float]]:
        found = self._ngrams.get(response)
        if found is None:
            found = self._ngrams[response] = hashed_ngrams(response)
        return found

    def featurize(self, prompts: list[str], responses: list[str]) -> Batch:
        ids: list[int] = []
        weights: list[float] = []
        offsets: list[int] = []
        if self.spec.hashing:
            for response in responses:
                offsets.append(len(ids))
                grams, values = self._hashed(response)
                ids.extend(grams)
                weights.extend(values)
        dense = torch.tensor([length_features(p, r) for p, r in zip(prompts, responses, strict=True)])
        tokens: dict[str, torch.Tensor] = {}
        if self.transformer is not None:
            if self.trainable:
                tokens = self.transformer.tokenize(prompts, responses)
            else:
                dense = torch.cat([dense, self.transformer.embed(prompts, responses)], 1)
        return Batch(
            torch.tensor(ids, dtype=torch.long),
            torch.tensor(weights, dtype=torch.float),
            torch.tensor(offsets, dtype=torch.long),
            dense.float().reshape(len(responses), self.dense_dim),
            tokens,
        )
