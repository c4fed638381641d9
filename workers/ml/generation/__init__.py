"""Generation providers that run models in this process (torch): local `transformers` language models
and `diffusers` text-to-image pipelines. app/generation/registry.py imports them only when asked for."""
