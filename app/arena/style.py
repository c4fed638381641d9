"""Style features of an answer, for style-controlled leaderboards (LMSYS, "Does style matter?", 2024):
length in tokens and counts of markdown headers, list items and bold spans; for an answer that is a
file, its duration in seconds (audio, video) and resolution in megapixels (images); plus any
numeric metadata a provider recorded, which a campaign can name as a feature."""

import re
from typing import Any

_HEADER = re.compile(r"^\s{0,3}#{1,6}\s+\S", re.MULTILINE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+\S", re.MULTILINE)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_FENCE = re.compile(r"```.*?```", re.DOTALL)
BUILT_IN = ("length", "headers", "lists", "bold", "duration", "resolution")


def style_features(
    content: str, meta: dict[str, Any] | None = None, *, media: dict[str, Any] | None = None
) -> dict[str, float]:
    """The built-in features of an answer: its text's, and those of its file (`media`: the stored
    file's metadata) when it has one. Code blocks are left out of the markdown counts, because a
    '# comment' in Python is not a header."""
    meta = meta or {}
    features = _text_features(content, meta)
    if media:
        if isinstance(media.get("duration_s"), int | float):
            features["duration"] = float(media["duration_s"])
        if isinstance(media.get("width"), int) and isinstance(media.get("height"), int):
            features["resolution"] = media["width"] * media["height"] / 1e6
    return features


def _text_features(content: str, meta: dict[str, Any]) -> dict[str, float]:
    prose = _FENCE.sub("", content)
    tokens = meta.get("completion_tokens")
    length = float(tokens) if isinstance(tokens, int | float) and tokens > 0 else float(len(content.split()))
    return {
        "length": length,
        "headers": float(len(_HEADER.findall(prose))),
        "lists": float(len(_LIST_ITEM.findall(prose))),
        "bold": float(len(_BOLD.findall(prose))),
    }


def feature_value(name: str, answer_meta: dict[str, Any]) -> float | None:
    """One named feature of a stored answer: a built-in one, or a numeric metadata field."""
    style = answer_meta.get("style") or {}
    if name in style:
        return float(style[name])
    for source in (answer_meta, answer_meta.get("extra") or {}):
        value = source.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
