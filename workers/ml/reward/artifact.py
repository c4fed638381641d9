"""Loading a trained reward model from its directory (config.json, weights.pt) to score texts."""

import json
from pathlib import Path

import torch

from workers.ml.reward.data import PreferencePair
from workers.ml.reward.features import Featurizer
from workers.ml.reward.model import RewardNet
from workers.ml.reward.train import evaluate_net


class LoadedRewardModel:
    def __init__(self, directory: str | Path, *, device: str = "cpu") -> None:
        directory = Path(directory)
        config_file = directory / "config.json"
        if not config_file.is_file() or not (directory / "weights.pt").is_file():
            raise ValueError(f"{directory} is not a reward model directory (config.json and weights.pt)")
        saved = json.loads(config_file.read_text())
        train = saved["train"]
        self.device = torch.device(device)
        self.featurizer = Featurizer(train["encoder"], max_length=train["max_length"], device=self.device)
        self.net = RewardNet(dense_dim=saved["dense_dim"], aspects=saved["aspects"]).to(self.device)
        self.net.load_state_dict(
            torch.load(directory / "weights.pt", map_location=self.device, weights_only=True)
        )
        self.net.eval()
        self.config = train

    @torch.no_grad()
    def score(self, prompts: list[str], responses: list[str]) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(prompts), 256):
            batch = self.featurizer.featurize(prompts[start : start + 256], responses[start : start + 256])
            scores.extend(self.net(batch.to(self.device)).cpu().tolist())
        return scores

    def evaluate(self, pairs: list[PreferencePair]) -> dict[str, float]:
        return evaluate_net(self.net, self.featurizer, pairs, self.device)


def load_reward_model(directory: str | Path, *, device: str = "cpu") -> LoadedRewardModel:
    return LoadedRewardModel(directory, device=device)
