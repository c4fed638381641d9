"""What a researcher asks a generation job for: systems (each with its provider), samples, params."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.generation.base import GenerationParams, ProviderConfig

GENERATE_TASK = "preflab.generation.generate"  # workers/tasks/generation.py


class SystemSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="the system name stored on each candidate")
    provider: ProviderConfig


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    systems: list[SystemSpec] = Field(min_length=1, max_length=20)
    params: GenerationParams = Field(default_factory=GenerationParams)
    item_ids: list[str] | None = Field(None, max_length=100_000, description="default: every item")
    queue: Literal["cpu", "gpu"] = "cpu"

    @model_validator(mode="after")
    def _distinct_names(self) -> "GenerateRequest":
        names = [s.name for s in self.systems]
        if len(set(names)) != len(names):
            raise ValueError("system names must be distinct")
        return self
