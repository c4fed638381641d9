"""Reward-model training and scoring (torch). Pure: files and lists in, metrics and artifacts out."""

from workers.ml.reward.artifact import LoadedRewardModel, load_reward_model
from workers.ml.reward.data import (
    DataError,
    PreferencePair,
    RatedResponse,
    load_pairs,
    split_by_prompt,
)
from workers.ml.reward.encoders import EncoderSpec
from workers.ml.reward.lora import LoraSettings
from workers.ml.reward.metrics import pairwise_metrics
from workers.ml.reward.train import TrainConfig, TrainingCancelled, TrainResult, train

__all__ = [
    "DataError",
    "EncoderSpec",
    "LoadedRewardModel",
    "LoraSettings",
    "PreferencePair",
    "RatedResponse",
    "TrainConfig",
    "TrainResult",
    "TrainingCancelled",
    "load_pairs",
    "load_reward_model",
    "pairwise_metrics",
    "split_by_prompt",
    "train",
]
