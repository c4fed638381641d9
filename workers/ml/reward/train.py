"""Training: Bradley-Terry on preference pairs, regression on ratings, or both (HelpSteer2-Preference,
Wang et al. 2024, trains on both kinds of label for the same responses).

Nothing is tuned on the held-out pairs. A validation share of the training pairs (split by prompt)
picks the L2 strength and the number of epochs; the model is then fitted again on all training pairs
with those. With LoRA, one run on the rest of the training pairs keeps its best epoch on the
validation pairs instead (a second pass through a transformer would double the cost).
"""

import contextlib
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from workers.ml.reward.data import PreferencePair, RatedResponse, split_by_prompt
from workers.ml.reward.encoders import autocast
from workers.ml.reward.features import Featurizer
from workers.ml.reward.lora import LoraSettings, add_adapters, save_adapters
from workers.ml.reward.metrics import pairwise_metrics
from workers.ml.reward.model import RewardNet

Progress = Callable[[float, str, dict[str, Any] | None], None]

ARTIFACT_FORMAT = 2
HEAD_LR = 1e-2  # the heads start at zero over unit-norm features: a larger step than a network's
# Candidates for the L2 strength, picked on validation pairs. On HH-RLHF harmless, 5-fold CV on the
# benchmark's training pairs favoured ~1e-4 for hashed n-grams and ~1e-3 for MiniLM embeddings.
WEIGHT_DECAYS = (1e-5, 1e-4, 1e-3, 1e-2)
DEFAULT_WEIGHT_DECAY = 1e-4  # when there are too few pairs to hold some out for validation
MIN_VALIDATION_PAIRS = 10
MIN_PAIRS_FOR_VALIDATION = 50
ENCODE_SHARE = 0.3  # of the progress bar, for encoding texts with a frozen transformer


class TrainingCancelled(Exception):
    """should_stop() said so; nothing was saved."""


@dataclass
class TrainConfig:
    # hashing, minilm, minilm+hashing, or a local Hugging Face model directory (optionally +hashing)
    encoder: str = "hashing"
    head: Literal["bt", "regression", "joint"] = "bt"
    epochs: int = 8  # at most: the best epoch on the validation pairs is kept
    lr: float | None = None  # learning rate of the heads; None: HEAD_LR
    batch_size: int = 32
    max_length: int = 256
    seed: int = 0
    weight_by_strength: bool = False  # weights come with the pairs; this records that they were used
    weight_decay: float | None = None  # L2 strength on the head weights; None: picked from WEIGHT_DECAYS
    validation_fraction: float = 0.2  # of the training pairs, by prompt, for the choices above
    lora: bool = False  # fine-tune the transformer end to end through LoRA adapters
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.05
    lora_lr: float = 2e-4  # learning rate of the adapters
    device: str = "auto"
    rating_weight: float = 1.0  # joint head: weight of the rating loss beside the preference loss

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device cuda was asked for, but no GPU is visible")
        return torch.device(self.device)

    def lora_settings(self) -> LoraSettings:
        return LoraSettings(rank=self.lora_rank, alpha=self.lora_alpha, dropout=self.lora_dropout)


@dataclass
class TrainResult:
    metrics: dict[str, float]
    curve: list[dict[str, Any]] = field(default_factory=list)
    artifact_dir: Path | None = None
    selection: dict[str, Any] = field(default_factory=dict)  # what the validation pairs chose
    timings: dict[str, float] = field(default_factory=dict)  # encode_s, train_s


@dataclass
class _Stage:
    """Where a run sits in the whole job, for the progress bar and its messages."""

    label: str
    start: float
    share: float


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
    if config.head in ("bt", "joint") and not train_pairs:
        raise ValueError("no preference pairs to train on")
    if config.head in ("regression", "joint") and not ratings:
        raise ValueError(f"the {config.head} head needs rated responses")
    torch.manual_seed(config.seed)
    device = config.resolved_device()
    report = progress or (lambda fraction, message, point: None)
    report(0.0, f"loading the {config.encoder} encoder", None)
    featurizer = Featurizer(
        config.encoder, max_length=config.max_length, device=device, trainable=config.lora
    )
    if config.lora and featurizer.transformer is not None:
        add_adapters(featurizer.transformer, config.lora_settings())
    aspects = sorted({a for r in ratings or [] for a in r.ratings})

    started = time.perf_counter()
    prompts, responses = _texts(train_pairs + eval_pairs, ratings or [])
    encoding = featurizer.transformer is not None and not config.lora
    featurizer.prepare(
        prompts,
        responses,
        progress=lambda done, total: report(
            ENCODE_SHARE * done / total, f"encoded {done}/{total} texts", None
        ),
    )
    encode_s = time.perf_counter() - started
    share_left = 1.0 - ENCODE_SHARE if encoding else 1.0
    trainer = _Trainer(featurizer, aspects, config, device, ratings or [], report, should_stop)

    fit_pairs, val_pairs = _validation_split(train_pairs, config)
    stage = _Stage("", 1.0 - share_left, share_left * 0.95)
    if config.lora:
        net, curve, selection = _fit_lora(trainer, fit_pairs, val_pairs, eval_pairs, stage)
    else:
        net, curve, selection = _select_and_fit(trainer, train_pairs, fit_pairs, val_pairs, eval_pairs, stage)
    # The kept epoch was evaluated on the held-out pairs as it ended: no second pass (costly with LoRA).
    kept = next(r for r in curve if r["epoch"] == selection["epochs"])
    metrics = {k.removeprefix("eval_"): v for k, v in kept.items() if k.startswith("eval_")}
    metrics["n"] = len(eval_pairs)
    train_s = time.perf_counter() - started - encode_s
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(net.head_state(), out / "weights.pt")
    if config.lora and featurizer.transformer is not None:
        save_adapters(featurizer.transformer, out)
    saved = {
        "format": ARTIFACT_FORMAT,
        "train": asdict(config),
        "aspects": aspects,
        "dense_dim": featurizer.dense_dim,
        "selection": selection,
    }
    (out / "config.json").write_text(json.dumps(saved, indent=2))
    (out / "metrics.json").write_text(
        json.dumps({"metrics": metrics, "curve": curve, "selection": selection}, indent=2)
    )
    report(1.0, "saved", None)
    return TrainResult(
        metrics=metrics,
        curve=curve,
        artifact_dir=out,
        selection=selection,
        timings={"encode_s": encode_s, "train_s": train_s},
    )


def _validation_split(
    train_pairs: list[PreferencePair], config: TrainConfig
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """(pairs to fit, validation pairs), split by prompt; no validation pairs when there are too few."""
    if config.head == "regression" or len(train_pairs) < MIN_PAIRS_FOR_VALIDATION:
        return train_pairs, []
    fit_pairs, val_pairs = split_by_prompt(
        train_pairs, held_out_fraction=config.validation_fraction, seed=config.seed
    )
    if len(val_pairs) < MIN_VALIDATION_PAIRS or not fit_pairs:
        return train_pairs, []
    return fit_pairs, val_pairs


Fitted = tuple[RewardNet, list[dict[str, Any]], dict[str, Any]]  # net, curve, selection


def _select_and_fit(
    trainer: "_Trainer",
    train_pairs: list[PreferencePair],
    fit_pairs: list[PreferencePair],
    val_pairs: list[PreferencePair],
    eval_pairs: list[PreferencePair],
    stage: _Stage,
) -> Fitted:
    """Frozen features: one run per candidate L2 strength on the fit pairs, the best (strength, epoch)
    by validation log loss, then a fresh fit on all training pairs with them."""
    config = trainer.config
    if config.weight_decay is not None:
        candidates = [config.weight_decay]
    else:
        candidates = list(WEIGHT_DECAYS) if val_pairs else [DEFAULT_WEIGHT_DECAY]
    chosen: list[dict[str, Any]] = []
    found: dict[str, Any] = {}
    weight_decay, epochs, final = candidates[0], config.epochs, stage
    if val_pairs:
        share = stage.share * 0.8 / len(candidates)
        for index, candidate in enumerate(candidates):
            label = f"choosing the L2 strength ({index + 1}/{len(candidates)}: {candidate:g}), "
            run_stage = _Stage(label, stage.start + index * share, share)
            _, records = trainer.run(fit_pairs, candidate, config.epochs, val_pairs, [], run_stage)
            chosen.append({"weight_decay": candidate} | _best(records))
        best = min(chosen, key=lambda c: (c["val_log_loss"], c["epoch"]))
        weight_decay, epochs = best["weight_decay"], best["epoch"]
        found = {"val_accuracy": best["val_accuracy"], "val_log_loss": best["val_log_loss"]}
        final = _Stage("", stage.start + stage.share * 0.8, stage.share * 0.2)
    net, curve = trainer.run(train_pairs, weight_decay, epochs, [], eval_pairs, final)
    selection = {
        "weight_decay": weight_decay,
        "epochs": epochs,
        "validation_pairs": len(val_pairs),
        **found,
        "candidates": [
            {k: c[k] for k in ("weight_decay", "epoch", "val_accuracy", "val_log_loss")} for c in chosen
        ],
    }
    return net, curve, selection


def _fit_lora(
    trainer: "_Trainer",
    fit_pairs: list[PreferencePair],
    val_pairs: list[PreferencePair],
    eval_pairs: list[PreferencePair],
    stage: _Stage,
) -> Fitted:
    """LoRA: one run, kept at its best epoch on the validation pairs (the last one without any)."""
    config = trainer.config
    weight_decay = DEFAULT_WEIGHT_DECAY if config.weight_decay is None else config.weight_decay
    net, records = trainer.run(fit_pairs, weight_decay, config.epochs, val_pairs, eval_pairs, stage)
    best = _best(records) if val_pairs else records[-1]
    selection = {"weight_decay": weight_decay, "epochs": best["epoch"], "validation_pairs": len(val_pairs)}
    selection |= {k: best[k] for k in ("val_accuracy", "val_log_loss") if k in best}
    return net, records, selection


def _texts(pairs: list[PreferencePair], ratings: list[RatedResponse]) -> tuple[list[str], list[str]]:
    prompts = [p.prompt for p in pairs for _ in (0, 1)] + [r.prompt for r in ratings]
    responses = [t for p in pairs for t in (p.chosen, p.rejected)] + [r.response for r in ratings]
    return prompts, responses


def _best(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The epoch with the lowest validation log loss (a proper scoring rule: steadier than accuracy on a
    few hundred pairs); the earlier one on a tie."""
    return min(records, key=lambda r: (r["val_log_loss"], r["epoch"]))


class _Trainer:
    """Runs of minibatch training over one set of features (built once, shared by every run)."""

    def __init__(
        self,
        featurizer: Featurizer,
        aspects: list[str],
        config: TrainConfig,
        device: torch.device,
        ratings: list[RatedResponse],
        report: Progress,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.featurizer = featurizer
        self.aspects = aspects
        self.config = config
        self.device = device
        self.ratings = ratings
        self.report = report
        self.should_stop = should_stop
        # With LoRA there is a single run, so the adapters need no reset between runs.
        self.encoder = featurizer.transformer if featurizer.trainable else None

    def _new_net(self) -> RewardNet:
        return RewardNet(
            dense_dim=self.featurizer.dense_dim,
            aspects=self.aspects,
            hashing=self.featurizer.spec.hashing,
            encoder=self.encoder,
        ).to(self.device)

    def run(
        self,
        pairs: list[PreferencePair],
        weight_decay: float,
        epochs: int,
        val_pairs: list[PreferencePair],
        eval_pairs: list[PreferencePair],
        stage: _Stage,
    ) -> tuple[RewardNet, list[dict[str, Any]]]:
        """Trains a fresh net for `epochs`; one record per epoch (train loss, val_* and eval_* metrics).
        With validation pairs, the net comes back as it was at its best epoch."""
        config, device = self.config, self.device
        torch.manual_seed(config.seed)
        rng = random.Random(config.seed)
        net = self._new_net()
        groups = [{"params": net.head_parameters(), "lr": HEAD_LR if config.lr is None else config.lr}]
        if self.encoder is not None:
            adapters = [p for p in self.encoder.parameters() if p.requires_grad]
            groups.append({"params": adapters, "lr": config.lora_lr})
        optimiser = torch.optim.Adam(groups)
        # float16 needs loss scaling to keep small gradients; bfloat16 (and CPU) do not.
        half = device.type == "cuda" and self.encoder is not None and not torch.cuda.is_bf16_supported()
        scaler = torch.amp.GradScaler("cuda", enabled=half)
        ratings = self.ratings
        steps_per_epoch = max(1, math.ceil(max(len(pairs), len(ratings)) / config.batch_size))
        total = steps_per_epoch * epochs
        records: list[dict[str, Any]] = []
        best: tuple[float, dict[str, torch.Tensor]] | None = None
        step = 0
        for epoch in range(1, epochs + 1):
            net.train()
            order = list(range(len(pairs)))
            rng.shuffle(order)
            rated_order = list(range(len(ratings)))
            rng.shuffle(rated_order)
            losses = []
            for index in range(steps_per_epoch):
                if self.should_stop is not None and self.should_stop():
                    raise TrainingCancelled
                window = slice(index * config.batch_size, (index + 1) * config.batch_size)
                chunk = [pairs[i] for i in order[window]]
                rated = [ratings[i] for i in rated_order[window]]
                with self._precision(net):
                    loss = self._loss(net, chunk, rated)
                loss = loss + weight_decay * net.l2_penalty()
                optimiser.zero_grad()
                scaler.scale(loss).backward()
                scaler.step(optimiser)
                scaler.update()
                losses.append(loss.item())
                step += 1
                self.report(
                    stage.start + stage.share * step / total,
                    f"{stage.label}epoch {epoch}/{epochs}, step {step}/{total}",
                    None,
                )
            record: dict[str, Any] = {"step": step, "epoch": epoch, "train_loss": sum(losses) / len(losses)}
            for prefix, held in (("val", val_pairs), ("eval", eval_pairs)):
                if held:
                    found = evaluate_net(net, self.featurizer, held, device)
                    record |= {f"{prefix}_{k}": v for k, v in found.items() if k != "n"}
            records.append(record)
            if val_pairs and (best is None or record["val_log_loss"] < best[0]):
                best = (record["val_log_loss"], _trainable_state(net))
            # Only the final run's epochs are curve points: the selection runs are progress messages.
            self.report(stage.start + stage.share * step / total, f"{stage.label}epoch {epoch}/{epochs} done",
                        record if not stage.label else None)  # fmt: skip
        if best is not None:
            _restore(net, best[1])
        net.eval()
        return net, records

    def _precision(self, net: RewardNet) -> contextlib.AbstractContextManager[Any]:
        return autocast(self.device) if net.encoder is not None else contextlib.nullcontext()

    def _loss(self, net: RewardNet, chunk: list[PreferencePair], rated: list[RatedResponse]) -> torch.Tensor:
        config, device = self.config, self.device
        loss = torch.zeros((), device=device)
        if chunk and config.head in ("bt", "joint"):
            margins = _margins(net, self.featurizer, chunk, device)
            weights = torch.tensor([p.weight for p in chunk], device=device)
            # Bradley-Terry (Bradley & Terry, 1952): P(chosen > rejected) = sigmoid(r_chosen - r_rejected).
            loss = loss + (weights * torch.nn.functional.softplus(-margins)).sum() / weights.sum()
        if rated and config.head in ("regression", "joint"):
            loss = loss + config.rating_weight * _rating_loss(
                net, self.featurizer, rated, self.aspects, config.head, device
            )
        return loss


def _trainable_state(net: RewardNet) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in net.named_parameters() if p.requires_grad}


def _restore(net: RewardNet, state: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for name, parameter in net.named_parameters():
            if name in state:
                parameter.copy_(state[name])


def _margins(
    net: RewardNet, featurizer: Featurizer, pairs: list[PreferencePair], device: torch.device
) -> torch.Tensor:
    prompts = [p.prompt for p in pairs]
    # One forward over both sides: a transformer pads and runs once instead of twice.
    batch = featurizer.featurize(prompts + prompts, [p.chosen for p in pairs] + [p.rejected for p in pairs])
    scores = net(batch.to(device)).float()
    return scores[: len(pairs)] - scores[len(pairs) :]


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
    outputs = net.outputs(batch).float()
    predicted = outputs[:, 1:]
    loss = ((predicted - torch.nan_to_num(target)) ** 2 * known).sum() / known.sum().clamp(min=1)
    if head == "regression":
        # With ratings only, the score itself learns the mean rating.
        mean = torch.nan_to_num(target).sum(1) / known.sum(1).clamp(min=1)
        loss = loss + ((outputs[:, 0] - mean) ** 2).mean()
    return loss


@torch.no_grad()
def evaluate_net(
    net: RewardNet, featurizer: Featurizer, pairs: list[PreferencePair], device: torch.device
) -> dict[str, float]:
    was_training = net.training
    net.eval()
    context = autocast(device) if net.encoder is not None else contextlib.nullcontext()
    with context:
        margins = [
            _margins(net, featurizer, pairs[i : i + 128], device).cpu() for i in range(0, len(pairs), 128)
        ]
    net.train(was_training)
    return pairwise_metrics(torch.cat(margins) if margins else torch.zeros(0))
