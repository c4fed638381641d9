from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip(
        "diffusers",
        reason="diffusers is not installed: pip install 'preflab[diffusers]' to test text-to-image",
    )
    from tests.generation.tiny_diffusion import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-pipeline"))
