"""Training: Bradley-Terry on preference pairs, regression on ratings, or both (HelpSteer2-Preference,
Wang et al. 2024, trains on both kinds of label for the same responses)."""

import json
import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from workers.ml.reward.data import PreferencePair, RatedResponse
from workers.ml.reward.features import Featurizer
from workers.ml.reward.metrics import pairwise_metrics
from workers.ml.reward.model import RewardNet

Progress = Callable[[float, str, dict[str, Any] | None], None]


class TrainingCancelled(Exception):
    """should_stop() said so; nothing was saved."""


@dataclass
class TrainConfig:
    encoder: str = "hashing"  # hashing, minilm, or a local Hugging Face model directory
    head: Literal["bt", "regression", "joint"] = "bt"
    epochs: int = 8
    lr: float = 1e-3
    batch_size: int = 32
    max_length: int = 256
    seed: int = 0
    weight_by_strength: bool = False  # weights come with the pairs; this records that they were used
    lora: bool = False
    device: str = "auto"
    rating_weight: float = 1.0  # joint head: weight of the rating loss beside the preference loss

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device cuda was asked for, but no GPU is visible")
        return torch.device(self.device)


@dataclass
class TrainResult:
    metrics: dict[str, float]
    curve: list[dict[str, Any]] = field(default_factory=list)
    artifact_dir: Path | None = None


def train(
    train_pairs: list[PreferencePair],
    eval_pairs: list[PreferencePair],
    config: TrainConfig,
    *,
    out_dir: str | Path,
    ratings: list[RatedResponse] | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    if config.lora:
        raise ValueError("LoRA fine-tuning is not available yet; train a frozen encoder with a head")
    if config.head in ("bt", "joint") and not train_pairs:
        raise ValueError("no preference pairs to train on")
    if config.head in ("regression", "joint") and not ratings:
        raise ValueError(f"the {config.head} head needs rated responses")
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    device = config.resolved_device()
    report = progress or (lambda fraction, message, point: None)
    report(0.0, f"encoding with {config.encoder}", None)
    featurizer = Featurizer(config.encoder, max_length=config.max_length, device=device)
    aspects = sorted({a for r in ratings or [] for a in r.ratings})
    net = RewardNet(dense_dim=featurizer.dense_dim, aspects=aspects).to(device)
    optimiser = torch.optim.AdamW(
        [
            {"params": net.ngrams.parameters(), "lr": config.lr * 30, "weight_decay": 0.0},
            {"params": [p for n, p in net.named_parameters() if not n.startswith("ngrams")], "lr": config.lr},
        ]
    )
    steps_per_epoch = max(1, math.ceil(max(len(train_pairs), len(ratings or [])) / config.batch_size))
    total = steps_per_epoch * config.epochs
    curve: list[dict[str, Any]] = []
    step = 0
    for epoch in range(1, config.epochs + 1):
        net.train()
        order = list(range(len(train_pairs)))
        rng.shuffle(order)
        rated_order = list(range(len(ratings or [])))
        rng.shuffle(rated_order)
        losses = []
        for batch_index in range(steps_per_epoch):
            if should_stop is not None and should_stop():
                raise TrainingCancelled
            loss = torch.zeros((), device=device)
            chunk = [
                train_pairs[i]
                for i in order[batch_index * config.batch_size : (batch_index + 1) * config.batch_size]
            ]
            if chunk and config.head in ("bt", "joint"):
                margins = _margins(net, featurizer, chunk, device)
                weights = torch.tensor([p.weight for p in chunk], device=device)
                # Bradley-Terry: P(chosen > rejected) = sigmoid(r_chosen - r_rejected).
                loss = loss + (weights * torch.nn.functional.softplus(-margins)).sum() / weights.sum()
            rated = (
                [
                    ratings[i]
                    for i in rated_order[
                        batch_index * config.batch_size : (batch_index + 1) * config.batch_size
                    ]
                ]
                if ratings
                else []
            )
            if rated and config.head in ("regression", "joint"):
                loss = loss + config.rating_weight * _rating_loss(
                    net, featurizer, rated, aspects, config.head, device
                )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            step += 1
            report(step / total * 0.95, f"epoch {epoch}/{config.epochs}, step {step}/{total}", None)
        net.eval()
        evaluation = evaluate_net(net, featurizer, eval_pairs, device) if eval_pairs else {}
        point = {"step": step, "epoch": epoch, "train_loss": sum(losses) / max(len(losses), 1)}
        point |= {f"eval_{k}": v for k, v in evaluation.items() if k != "n"}
        curve.append(point)
        report(step / total * 0.95, f"epoch {epoch}/{config.epochs} done", point)
    metrics = evaluate_net(net, featurizer, eval_pairs, device) if eval_pairs else {"n": 0}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out / "weights.pt")
    (out / "config.json").write_text(
        json.dumps({"train": asdict(config), "aspects": aspects, "dense_dim": featurizer.dense_dim}, indent=2)
    )
    (out / "metrics.json").write_text(json.dumps({"metrics": metrics, "curve": curve}, indent=2))
    report(1.0, "saved", None)
    return TrainResult(metrics=metrics, curve=curve, artifact_dir=out)


def _margins(
    net: RewardNet, featurizer: Featurizer, pairs: list[PreferencePair], device: torch.device
) -> torch.Tensor:
    prompts = [p.prompt for p in pairs]
    chosen = net(featurizer.featurize(prompts, [p.chosen for p in pairs]).to(device))
    rejected = net(featurizer.featurize(prompts, [p.rejected for p in pairs]).to(device))
    return chosen - rejected


def _rating_loss(
    net: RewardNet,
    featurizer: Featurizer,
    rated: list[RatedResponse],
    aspects: list[str],
    head: str,
    device: torch.device,
) -> torch.Tensor:
    batch = featurizer.featurize([r.prompt for r in rated], [r.response for r in rated]).to(device)
    target = torch.tensor([[r.ratings.get(a, math.nan) for a in aspects] for r in rated], device=device)
    known = ~torch.isnan(target)
    predicted = net.ratings(batch)
    loss = ((predicted - torch.nan_to_num(target)) ** 2 * known).sum() / known.sum().clamp(min=1)
    if head == "regression":
        # With ratings only, the score itself learns the mean rating.
        mean = torch.nan_to_num(target).sum(1) / known.sum(1).clamp(min=1)
        loss = loss + ((net(batch) - mean) ** 2).mean()
    return loss


@torch.no_grad()
def evaluate_net(
    net: RewardNet, featurizer: Featurizer, pairs: list[PreferencePair], device: torch.device
) -> dict[str, float]:
    margins = [_margins(net, featurizer, pairs[i : i + 256], device).cpu() for i in range(0, len(pairs), 256)]
    return pairwise_metrics(torch.cat(margins) if margins else torch.zeros(0))
