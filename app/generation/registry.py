"""From a provider config to a provider. The torch-based kinds are imported only when asked for, so
that the web process and CPU-only hosts never load torch."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from app.generation.base import (
    CommandConfig,
    DiffusersConfig,
    GenerationError,
    OpenAIConfig,
    Provider,
    ProviderConfig,
    ReplayConfig,
    TransformersConfig,
)

_configs: TypeAdapter[ProviderConfig] = TypeAdapter(ProviderConfig)


def parse_provider_config(data: Mapping[str, Any]) -> ProviderConfig:
    """A provider config from its JSON form; raises pydantic's ValidationError naming the bad field."""
    return _configs.validate_python(data)


def make_provider(
    config: ProviderConfig, *, api_key: str | None = None, output_dir: Path | None = None
) -> Provider:
    """The provider for a config. `api_key` (OpenAI-compatible) is a secret known at run time and never
    part of the config; `output_dir` is where media files are written (command, diffusers)."""
    if isinstance(config, OpenAIConfig):
        from app.generation.openai_compat import OpenAIProvider

        return OpenAIProvider(config, api_key=api_key)
    if isinstance(config, CommandConfig):
        from app.generation.command import CommandProvider

        return CommandProvider(config, output_dir=output_dir)
    if isinstance(config, ReplayConfig):
        from app.generation.replay import ReplayProvider

        return ReplayProvider(config)
    if isinstance(config, TransformersConfig):
        with _needs("ml", "torch", "transformers"):
            from workers.ml.generation.transformers_local import TransformersProvider
        return TransformersProvider(config)
    if isinstance(config, DiffusersConfig):
        with _needs("ml,diffusers", "torch", "transformers", "diffusers"):
            from workers.ml.generation.diffusers_t2i import DiffusersProvider
        return DiffusersProvider(config, output_dir=output_dir)
    raise GenerationError(f"unknown provider kind {getattr(config, 'kind', config)!r}")


@contextmanager
def _needs(extra: str, *packages: str) -> Iterator[None]:
    """Turns a missing optional package into the install line that brings it."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in packages:
            raise
        raise GenerationError(
            f"this provider needs {exc.name}, which is not installed on this host: "
            f"pip install 'preflab[{extra}]'"
        ) from exc
