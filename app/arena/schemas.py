"""API shapes for arenas: settings, systems, battles, votes."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.arena.models import AnswerStatus, BattleStatus
from app.campaigns.schemas import SLUG_PATTERN
from app.generation.base import GenerationParams, ReplayConfig
from app.generation.registry import parse_provider_config

SYSTEM_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._:/@+-]{0,199}$"
Sampling = Literal["uniform", "weighted", "targeted", "active"]
PromptSource = Literal["live", "set", "both"]
ModerationAction = Literal["log", "warn", "block"]


class ArenaConfig(BaseModel):
    """How an arena runs; stored as JSON on the arena row, so every field has a default."""

    model_config = ConfigDict(extra="forbid")

    sampling: Sampling = Field(
        "uniform",
        description="uniform, weighted per system, targeted, or active: the pair whose next vote tells "
        "most about the ranking (10% of battles uniform)",
    )
    prompt_source: PromptSource = Field(
        "both", description="typed by the voter, drawn from the items, or both"
    )
    max_turns: int = Field(1, ge=1, le=20, description="1: single-turn battles")
    max_prompt_chars: int = Field(8000, ge=1, le=100_000)
    answer_timeout_s: float = Field(
        120, gt=0, le=3600, description="a side not done by then fails the battle"
    )
    params: GenerationParams = Field(default_factory=GenerationParams)
    allow_anonymous: bool = Field(False, description="voters without an account, known by a signed cookie")
    public_leaderboard: bool = True
    min_battles: int = Field(10, ge=0, description="systems with fewer counted battles are not listed")
    bootstrap_rounds: int = Field(1000, ge=0, le=10_000)
    refresh_every_votes: int = Field(50, ge=1, description="recompute the leaderboard after this many votes")
    refresh_seconds: int = Field(300, ge=10, description="... or this long after a vote, whichever is first")
    style_features: list[str] = Field(
        default_factory=lambda: ["length", "headers", "lists", "bold", "duration", "resolution"],
        description="style covariates: length, headers, lists, bold (text), duration (audio, video), "
        "resolution (images), or any numeric answer metadata key; those no answer varies in are left out",
    )
    battles_per_minute: int | None = Field(None, ge=1, description="per voter; default: the server's")
    votes_per_minute: int | None = Field(None, ge=1, description="per voter; default: the server's")
    moderation: dict[str, ModerationAction] = Field(
        default_factory=dict, description="category -> action, over the server's defaults"
    )


class SystemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=SYSTEM_NAME_PATTERN, description="shown only after the vote")
    vendor: str = Field("", max_length=200, description="an answer naming it flags the vote (identity leak)")
    provider: dict[str, Any] = Field(description="a provider config: openai, transformers, replay, command")
    weight: float = Field(1.0, ge=0, le=1000)
    targets: list[str] = Field(default_factory=list, max_length=100)
    is_active: bool = True

    @field_validator("provider")
    @classmethod
    def _valid_provider(cls, value: dict[str, Any]) -> dict[str, Any]:
        config = parse_provider_config(value)
        if config.kind == "diffusers":
            raise ValueError("arena battles are text conversations; diffusers systems cannot battle")
        if isinstance(config, ReplayConfig) and callable(config.outputs):
            raise ValueError("replay outputs must be a prompt -> outputs mapping")
        return config.model_dump(mode="json")


class SystemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float | None = Field(None, ge=0, le=1000)
    targets: list[str] | None = Field(None, max_length=100)
    is_active: bool | None = None
    vendor: str | None = Field(None, max_length=200)


class SystemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    vendor: str
    provider: dict[str, Any]
    weight: float
    targets: list[str]
    is_active: bool


class ArenaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    guidelines: str = Field("", max_length=100_000)
    config: ArenaConfig = Field(default_factory=ArenaConfig)
    systems: list[SystemCreate] = Field(default_factory=list, max_length=500)


class ArenaRead(BaseModel):
    slug: str
    name: str
    status: str
    config: ArenaConfig
    systems: list[SystemRead]
    vote_count: int


class PromptLine(BaseModel):
    """One line of an arena's prompt set."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    prompt: str = Field(min_length=1, max_length=100_000)
    tags: list[str] = Field(default_factory=list, max_length=20)


class BattleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(None, min_length=1, description="omit to be given one from the prompt set")


class TurnCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1)


class VoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    winner: Literal["a", "b", "tie", "both_bad"]


class AnswerMedia(BaseModel):
    """An answer that is a file: where the voter reads it (a URL naming no system) and its type."""

    url: str
    mime: str


class AnswerRead(BaseModel):
    turn: int
    side: str
    prompt: str
    content: str
    status: AnswerStatus
    error: str
    media: AnswerMedia | None = None


class BattleRead(BaseModel):
    """What a voter sees: before the vote no system name, vendor or generation metadata."""

    id: str
    status: BattleStatus
    turns: int
    max_turns: int
    answers: list[AnswerRead]
    error: str
    warnings: list[str] = Field(default_factory=list)
    winner: str | None = None
    model_a: str | None = None
    model_b: str | None = None
    stream_url: str
    created_at: datetime


class VoterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    voter_key: str
    status: str
    statistic: float
    votes: int
    updated_at: datetime
