"""Loading a trained reward model from its directory (config.json, weights.pt, and adapter/ when it was
trained with LoRA) to score texts."""

import contextlib
import json
from pathlib import Path

import torch

from workers.ml.reward.data import PreferencePair
from workers.ml.reward.encoders import autocast
from workers.ml.reward.features import Featurizer
from workers.ml.reward.lora import load_adapters
from workers.ml.reward.model import ENCODER_PREFIX, RewardNet
from workers.ml.reward.train import ARTIFACT_FORMAT, evaluate_net

SCORE_BATCH = 256


class LoadedRewardModel:
    def __init__(self, directory: str | Path, *, device: str = "auto") -> None:
        directory = Path(directory)
        config_file = directory / "config.json"
        if not config_file.is_file() or not (directory / "weights.pt").is_file():
            raise ValueError(f"{directory} is not a reward model directory (config.json and weights.pt)")
        saved = json.loads(config_file.read_text())
        if saved.get("format") != ARTIFACT_FORMAT:
            raise ValueError(f"{directory} was saved by an older version of the trainer; train it again")
        train = saved["train"]
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        lora = bool(train.get("lora"))
        self.featurizer = Featurizer(
            train["encoder"], max_length=train["max_length"], device=self.device, trainable=lora
        )
        if lora and self.featurizer.transformer is not None:
            load_adapters(self.featurizer.transformer, directory)
        self.net = RewardNet(
            dense_dim=saved["dense_dim"],
            aspects=saved["aspects"],
            hashing=self.featurizer.spec.hashing,
            encoder=self.featurizer.transformer if lora else None,
        ).to(self.device)
        head = torch.load(directory / "weights.pt", map_location=self.device, weights_only=True)
        missing, unexpected = self.net.load_state_dict(head, strict=False)
        # Only the backbone (base weights and adapters, loaded above) is absent from weights.pt.
        if unexpected or any(not name.startswith(ENCODER_PREFIX) for name in missing):
            raise ValueError(f"{directory}/weights.pt does not match its config.json")
        self.net.eval()
        self.config = train
        self.selection = saved.get("selection", {})

    def score(self, prompts: list[str], responses: list[str]) -> list[float]:
        precision = autocast(self.device) if self.net.encoder is not None else contextlib.nullcontext()
        with torch.no_grad(), precision:
            scores: list[float] = []
            for start in range(0, len(prompts), SCORE_BATCH):
                window = slice(start, start + SCORE_BATCH)
                batch = self.featurizer.featurize(prompts[window], responses[window])
                scores.extend(self.net(batch.to(self.device)).float().cpu().tolist())
            return scores

    def evaluate(self, pairs: list[PreferencePair]) -> dict[str, float]:
        return evaluate_net(self.net, self.featurizer, pairs, self.device)


def load_reward_model(directory: str | Path, *, device: str = "auto") -> LoadedRewardModel:
    """device "auto": the GPU when there is one, else the CPU."""
    return LoadedRewardModel(directory, device=device)
