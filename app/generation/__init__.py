"""Candidate generation providers, shared by generation jobs and arena battles (see base.py)."""

from app.generation.base import (
    AsyncGenerationStream,
    CommandConfig,
    DiffusersConfig,
    Generation,
    GenerationError,
    GenerationParams,
    GenerationStream,
    Message,
    OpenAIConfig,
    Provider,
    ProviderConfig,
    ReplayConfig,
    StreamingProvider,
    TransformersConfig,
)
from app.generation.registry import make_provider, parse_provider_config

__all__ = [
    "AsyncGenerationStream",
    "CommandConfig",
    "DiffusersConfig",
    "Generation",
    "GenerationError",
    "GenerationParams",
    "GenerationStream",
    "Message",
    "OpenAIConfig",
    "Provider",
    "ProviderConfig",
    "ReplayConfig",
    "StreamingProvider",
    "TransformersConfig",
    "make_provider",
    "parse_provider_config",
]
