from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openai_server import OpenAIServer, serve_openai
from tests.support.tiny_lm import build_tiny_lm


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def _shared_openai_server(tiny_lm: Path) -> Iterator[OpenAIServer]:
    # One server (and one loaded model) for the session: starting it is most of a test's time.
    with serve_openai(tiny_lm) as server:
        yield server


@pytest.fixture
def openai_server(_shared_openai_server: OpenAIServer) -> Iterator[OpenAIServer]:
    """A live OpenAI-compatible server on the tiny model, back to its defaults for each test."""
    _shared_openai_server.reset()
    yield _shared_openai_server
    _shared_openai_server.reset()


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip(
        "diffusers",
        reason="diffusers is not installed: pip install 'preflab[diffusers]' to test text-to-image",
    )
    from tests.generation.tiny_diffusion import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-pipeline"))
