"""API shapes for LM judges: providers, sampling, prompt versions, runs and judgements."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.generation.base import GenerationParams, OpenAIConfig, TransformersConfig
from app.judging import prompts
from app.judging.models import JudgeLabel, ShownVerdict

JUDGE_TASK = "preflab.judging.judge"  # workers/tasks/judging.py


class RewardModelJudgeConfig(BaseModel):
    """The campaign's reward model as a judge: the higher score wins, with sigmoid(margin) as the
    probability; pairs closer than `tie_margin` are ties."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["reward_model"] = "reward_model"
    reward_model: str | None = Field(
        None, max_length=20, description="a version's id; default: the campaign's active one when run"
    )
    tie_margin: float = Field(0.0, ge=0, description="score differences at or below this are ties")


JudgeProvider = Annotated[
    OpenAIConfig | TransformersConfig | RewardModelJudgeConfig, Field(discriminator="kind")
]


class JudgeSampling(BaseModel):
    """How a generating judge answers; greedy by default, so a rerun asks the same question the same way."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(512, ge=1, le=8192)
    seed: int | None = Field(None, ge=0)

    def params(self) -> GenerationParams:
        return GenerationParams(
            temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens, n=1, seed=self.seed
        )


def _checked_template(template: str) -> str:
    prompts.check_template(template)  # its ValueError becomes a 422 naming the field
    return template


class JudgeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    provider: JudgeProvider
    sampling: JudgeSampling = Field(default_factory=JudgeSampling)
    template: str | None = Field(
        None, max_length=50_000, description="{prompt}, {first}, {second}, optional {guidelines}"
    )

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else _checked_template(value)


class PromptUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, max_length=50_000)

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        return _checked_template(value)


class PromptRead(BaseModel):
    version: int
    template: str
    in_use: bool = Field(description="a judgement used it: it is frozen, and a change makes the next version")
    created_at: datetime


class JudgeRead(BaseModel):
    id: str
    campaign: str
    name: str
    annotator: str = Field(description="the pseudonym its votes carry (an annotator of kind model)")
    provider: dict[str, object]
    sampling: JudgeSampling
    queue: str
    prompt_version: int
    created_at: datetime


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int | None = Field(None, ge=1, le=1_000_000, description="judge at most this many pairs")
    comparison_ids: list[int] | None = Field(
        None, min_length=1, max_length=100_000, description="default: every pair of the campaign"
    )


class OrderRead(BaseModel):
    verdict: ShownVerdict | None = Field(description="the side as shown: first, second or tie")
    confidence: float | None
    output: str = Field(description="the judge's answer, shortened")


class JudgementRead(BaseModel):
    id: str
    comparison_id: int
    item_id: str
    system_a: str
    system_b: str
    prompt_version: int
    forward: OrderRead = Field(description="candidate a shown first")
    backward: OrderRead = Field(description="candidate b shown first")
    label: JudgeLabel | None = Field(description="a, b or tie, by the comparison's stored order")
    confidence: float | None
    swap_consistent: bool | None
    error: str
    vote_id: str | None
    created_at: datetime


class JudgementPage(BaseModel):
    judgements: list[JudgementRead]
    total: int
    next_offset: int | None
