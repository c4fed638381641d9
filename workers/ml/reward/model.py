"""The reward model: a scalar score per (prompt, response), and optional per-aspect ratings."""

import torch
from torch import nn

from workers.ml.reward.features import HASH_BUCKETS, Batch


class RewardNet(nn.Module):
    def __init__(self, *, dense_dim: int, aspects: list[str], hidden: int = 256) -> None:
        super().__init__()
        self.aspects = list(aspects)
        # A linear model over hashed n-grams (trained from scratch, so no weights are needed)...
        self.ngrams = nn.EmbeddingBag(HASH_BUCKETS, 1, mode="mean")
        nn.init.zeros_(self.ngrams.weight)
        # ...plus a small MLP over the dense features (lengths, and embeddings when there are some).
        self.dense = nn.Sequential(nn.Linear(dense_dim, hidden), nn.GELU(), nn.Linear(hidden, 1))
        self.aspect_head = nn.Linear(dense_dim, len(self.aspects)) if self.aspects else None

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.ngrams(batch.ids, batch.offsets).squeeze(-1) + self.dense(batch.dense).squeeze(-1)

    def ratings(self, batch: Batch) -> torch.Tensor:
        if self.aspect_head is None:
            raise ValueError("this model has no rating aspects")
        return self.aspect_head(batch.dense)
