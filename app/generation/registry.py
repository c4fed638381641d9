"""From a provider config to a provider. The torch-based ones load only when asked for."""

from app.generation.base import (
    CommandConfig,
    GenerationError,
    OpenAIConfig,
    Provider,
    ProviderConfig,
    ReplayConfig,
    TransformersConfig,
)


def make_provider(config: ProviderConfig) -> Provider:
    if isinstance(config, OpenAIConfig):
        from app.generation.openai_compat import OpenAIProvider

        return OpenAIProvider(config)
    if isinstance(config, CommandConfig):
        from app.generation.command import CommandProvider

        return CommandProvider(config)
    if isinstance(config, ReplayConfig):
        from app.generation.replay import ReplayProvider

        return ReplayProvider(config)
    if isinstance(config, TransformersConfig):
        try:
            from workers.ml.generation.transformers_local import TransformersProvider
        except ImportError as exc:
            raise GenerationError(
                "local models need torch and transformers: pip install 'preflab[ml]'"
            ) from exc
        return TransformersProvider(config)
    raise GenerationError(f"unknown provider {config!r}")
