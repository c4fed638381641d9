"""The reward model: a scalar score per (prompt, response), and optional per-aspect ratings."""

import torch
from torch import nn

from workers.ml.reward.encoders import TransformerEncoder
from workers.ml.reward.features import HASH_BUCKETS, Batch

ENCODER_PREFIX = "encoder."  # state under this prefix belongs to the backbone (saved as LoRA adapters)


class RewardNet(nn.Module):
    """Linear heads over the features: output 0 is the score, outputs 1.. the aspect ratings.

    Linear on purpose: on HH-RLHF harmless (5-fold CV on the benchmark's training pairs) a hidden layer
    of 64 over MiniLM embeddings reached 0.62-0.63 where a linear head reached 0.64; with ~1,000 pairs
    the extra capacity only overfits. With an `encoder` (LoRA), the embedding is computed here, with
    gradients, from the batch's tokens.
    """

    def __init__(
        self,
        *,
        dense_dim: int,
        aspects: list[str],
        hashing: bool = True,
        encoder: TransformerEncoder | None = None,
    ) -> None:
        super().__init__()
        self.aspects = list(aspects)
        outputs = 1 + len(self.aspects)
        # Zero start: every model begins indifferent (margin 0, P = 0.5) whatever its features.
        self.ngrams = nn.EmbeddingBag(HASH_BUCKETS, outputs, mode="sum") if hashing else None
        if self.ngrams is not None:
            nn.init.zeros_(self.ngrams.weight)
        self.encoder = encoder
        self.dense = nn.Linear(dense_dim + (encoder.dim if encoder is not None else 0), outputs)
        nn.init.zeros_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)

    def outputs(self, batch: Batch) -> torch.Tensor:
        dense = batch.dense
        if self.encoder is not None:
            dense = torch.cat([dense, self.encoder(batch.tokens).to(dense.dtype)], 1)
        out = self.dense(dense).float()
        if self.ngrams is not None:
            out = out + self.ngrams(batch.ids, batch.offsets, per_sample_weights=batch.weights).float()
        return out

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.outputs(batch)[:, 0]

    def ratings(self, batch: Batch) -> torch.Tensor:
        if not self.aspects:
            raise ValueError("this model has no rating aspects")
        return self.outputs(batch)[:, 1:]

    def head_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if not n.startswith(ENCODER_PREFIX)]

    def l2_penalty(self) -> torch.Tensor:
        """Sum of squared head weights (not biases): the ridge term of an L2-regularised logistic
        (Bradley-Terry) regression, whose strength the trainer picks on validation pairs."""
        weights = [self.dense.weight] + ([self.ngrams.weight] if self.ngrams is not None else [])
        return sum((w.float() ** 2).sum() for w in weights)  # type: ignore[return-value]

    def head_state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith(ENCODER_PREFIX)}
