"""Candidate generation providers, shared by generation jobs and arena battles."""

from app.generation.base import (
    CommandConfig,
    Generation,
    GenerationError,
    GenerationParams,
    Message,
    OpenAIConfig,
    Provider,
    ProviderConfig,
    ReplayConfig,
    TransformersConfig,
)
from app.generation.registry import make_provider

__all__ = [
    "CommandConfig",
    "Generation",
    "GenerationError",
    "GenerationParams",
    "Message",
    "OpenAIConfig",
    "Provider",
    "ProviderConfig",
    "ReplayConfig",
    "TransformersConfig",
    "make_provider",
]
