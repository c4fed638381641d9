"""API shapes for reward-model training, versions and scores."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainRequest(BaseModel):
    """How to train a reward model on a campaign's votes (see workers/ml/reward)."""

    model_config = ConfigDict(extra="forbid")

    encoder: str = Field(
        "hashing",
        min_length=1,
        max_length=500,
        description="hashing (no weights), minilm (shipped MiniLM-L6), minilm+hashing (both feature sets; "
        "the most accurate on CPU), or a local Hugging Face model directory, optionally followed by +hashing",
    )
    head: Literal["bt", "regression", "joint"] = "bt"
    epochs: int = Field(8, ge=1, le=100, description="at most: the best epoch on validation pairs is kept")
    lr: float | None = Field(None, gt=0, le=1, description="learning rate of the heads; default 1e-2")
    batch_size: int = Field(32, ge=1, le=4096)
    max_length: int = Field(256, ge=8, le=8192)
    held_out_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 0
    weight_by_strength: bool = False
    include_judge: bool = Field(False, description="also train on LM-judge labels, weighted by judge_weight")
    judge_weight: float = Field(0.5, ge=0, le=1)
    weighting: Literal["none", "reliability"] = Field(
        "none", description="reliability: weight each human vote by its annotator's Dawid-Skene weight"
    )
    lora: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    queue: Literal["cpu", "gpu"] = "cpu"


class RewardModelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(validation_alias="public_id")
    campaign: str = ""
    version: int
    config: dict[str, Any]
    data_snapshot: dict[str, Any]
    metrics: dict[str, Any]
    curve: list[dict[str, Any]]
    artifact_path: str
    is_active: bool
    created_at: datetime


class CandidateScoreRead(BaseModel):
    candidate_id: str
    item_id: str
    system: str
    score: float


class VoteAgreement(BaseModel):
    """How often a version scores the human-preferred candidate higher (ties count half)."""

    all_votes: float | None = Field(description="over every scored human preference vote, training included")
    n_all: int
    since_training: float | None = Field(description="over votes cast after the version was trained")
    n_since: int


class ConfigChange(BaseModel):
    key: str
    a: Any
    b: Any


class VersionComparison(BaseModel):
    a: RewardModelRead
    b: RewardModelRead
    same_data: bool = Field(description="both trained on the same pairs (equal snapshot hashes)")
    config_changes: list[ConfigChange]
    metric_deltas: dict[str, float] = Field(description="b minus a, for metrics both report")
    agreement_a: VoteAgreement
    agreement_b: VoteAgreement
    score_correlation: float | None = Field(
        description="Spearman correlation of the two versions' scores on the candidates both scored"
    )
    n_scored_by_both: int
