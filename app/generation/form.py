"""The generation page's form as a GenerateRequest: several systems, each with its own provider.

A row is `systems-K-<field>`; rows without a name are ignored. A row's provider fields are the ones
its kind uses (OpenAI-compatible: base_url, model, api_key_env; transformers and diffusers: path;
command: a command line, split like a shell would but never run by one) plus optional JSON settings
for everything else a provider takes (dtype, steps, timeout_s, env, ...).
"""

import json
import shlex
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from app.errors import Invalid
from app.generation.requests import GenerateRequest
from app.web import form_errors

MAX_ROWS = 8
KINDS = ("openai", "transformers", "diffusers", "command")


def parse(form: Mapping[str, str]) -> GenerateRequest:
    systems = [system for k in range(MAX_ROWS) if (system := _system(form, k)) is not None]
    if not systems:
        raise Invalid("name at least one system", field="systems-0-name")
    try:
        return GenerateRequest.model_validate(
            {
                "systems": systems,
                "params": {
                    "n": _number(form, "samples", int, 1),
                    "max_tokens": _number(form, "max_tokens", int, 256),
                    "temperature": _number(form, "temperature", float, 0.7),
                    "top_p": _number(form, "top_p", float, 1.0),
                    "seed": _number(form, "seed", int, None),
                },
                "queue": form.get("queue", "cpu"),
            }
        )
    except ValidationError as exc:
        raise form_errors(exc) from exc


def _system(form: Mapping[str, str], k: int) -> dict[str, Any] | None:
    def field(name: str) -> str:
        return str(form.get(f"systems-{k}-{name}", "")).strip()

    name = field("name")
    if not name:
        return None
    kind = field("kind") or "openai"
    if kind not in KINDS:
        raise Invalid(f"system {name!r}: unknown provider {kind!r}; use {', '.join(KINDS)}")
    provider: dict[str, Any] = {"kind": kind}
    if kind == "openai":
        provider |= {"base_url": field("base_url"), "model": field("model")}
        if field("api_key_env"):
            provider["api_key_env"] = field("api_key_env")
    elif kind in ("transformers", "diffusers"):
        provider["path"] = field("path")
    else:
        try:
            provider["argv"] = shlex.split(field("command"))
        except ValueError as exc:
            raise Invalid(f"system {name!r}: the command line cannot be split ({exc})") from exc
        if field("media_type"):
            provider["media_type"] = field("media_type")
        if field("output_suffix"):
            provider["output_suffix"] = field("output_suffix")
    settings = field("settings")
    if settings:
        try:
            extra = json.loads(settings)
        except json.JSONDecodeError as exc:
            raise Invalid(f"system {name!r}: the settings are not JSON ({exc.msg})") from exc
        if not isinstance(extra, dict):
            raise Invalid(f"system {name!r}: the settings must be a JSON object")
        provider |= {key: value for key, value in extra.items() if key != "kind"}
    return {"name": name, "provider": provider}


def _number(form: Mapping[str, str], name: str, cast: type, default: Any) -> Any:
    raw = str(form.get(name, "")).strip()
    if not raw:
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        raise Invalid(f"{name}: {raw!r} is not a number", field=name) from exc
