from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openai_server import OpenAIServer, serve_openai
from tests.support.tiny_lm import build_tiny_lm


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture
def openai_server(tiny_lm: Path) -> Iterator[OpenAIServer]:
    with serve_openai(tiny_lm) as server:
        yield server
