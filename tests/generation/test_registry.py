"""From configs to providers: the torch kinds load lazily, missing extras say what to install, and bad
configs are refused with the field that is wrong."""

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from app.generation import (
    DiffusersConfig,
    GenerationError,
    OpenAIConfig,
    ProviderConfig,
    ReplayConfig,
    TransformersConfig,
    make_provider,
    parse_provider_config,
)
from app.generation.openai_compat import OpenAIProvider

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_providers_does_not_import_torch() -> None:
    code = (
        "import sys, app.generation, app.generation.openai_compat, app.generation.command, "
        "app.generation.replay; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_configs_from_json_pick_their_provider() -> None:
    config = parse_provider_config({"kind": "openai", "base_url": "http://gpu:8000/v1", "model": "m"})
    assert isinstance(config, OpenAIConfig) and config.timeout_s == 120
    assert isinstance(make_provider(config), OpenAIProvider)
    local = parse_provider_config({"kind": "transformers", "path": "/models/x", "dtype": "bfloat16"})
    assert isinstance(local, TransformersConfig) and local.device == "auto" and local.chat_template
    # Stored configs round-trip through JSON (what a job's parameters hold).
    assert parse_provider_config(local.model_dump(mode="json")) == local


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"kind": "gemini"},
            "does not match any of the expected tags: 'openai', 'transformers', 'diffusers'",
        ),
        ({"base_url": "http://x/v1"}, "Unable to extract tag using discriminator 'kind'"),
        ({"kind": "openai", "model": "m"}, "base_url\n  Field required"),
        ({"kind": "openai", "base_url": "gpu:8000", "model": "m"}, "base_url\n  String should match pattern"),
        (
            {"kind": "openai", "base_url": "http://x/v1", "model": "m", "api_key": "sk-1"},
            "api_key\n  Extra inputs",
        ),
        (
            {
                "kind": "openai",
                "base_url": "http://x/v1",
                "model": "m",
                "extra_headers": {"Authorization": "k"},
            },
            "carries a credential: name its variable in api_key_env",
        ),
        (
            {"kind": "transformers", "path": "/m", "device": "tpu"},
            "device\n  Input should be 'auto', 'cpu' or 'cuda'",
        ),
        ({"kind": "diffusers", "path": "/m", "width": 500}, "width\n  Input should be a multiple of 8"),
        ({"kind": "command", "argv": []}, "argv\n  List should have at least 1 item"),
    ],
)
def test_bad_configs_name_the_field(data: dict, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_provider_config(data)
    assert message in str(refused.value)


def test_the_config_schema_leaves_out_in_process_sources() -> None:
    # The API documents configs; a replay function cannot be sent over JSON, so it is not in the schema.
    schema = TypeAdapter(ProviderConfig).json_schema()
    replay = schema["$defs"]["ReplayConfig"]["properties"]["outputs"]
    assert replay["type"] == "object"
    assert ReplayConfig(outputs=lambda messages: ["x"]).kind == "replay"


def test_a_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "diffusers", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "workers.ml.generation.diffusers_t2i", raising=False)
    with pytest.raises(GenerationError, match=r"needs diffusers.*pip install 'preflab\[ml,diffusers\]'"):
        make_provider(DiffusersConfig(path="/models/sd"))
