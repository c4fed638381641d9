"""Moderation of what voters type: categories found in a prompt, and what the arena does about each.

The block list (always on; empty unless configured) holds "category: phrase" entries, matched as whole
words after Unicode normalisation. An OpenAI-compatible `/moderations` endpoint can be added beside it;
when that endpoint fails, the block list alone decides and the failure is logged, so moderation never
turns into an outage. Each category maps to an action (`log`, `warn`, `block`); the strictest one wins.
"""

import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from app.config import Settings, get_settings

log = logging.getLogger("preflab.arena")

Action = Literal["log", "warn", "block"]
SEVERITY: dict[str, int] = {"log": 1, "warn": 2, "block": 3}
# What an obfuscator adds without changing the word a reader reads: combining marks (strokes, Zalgo
# text, accents) and format characters (zero-width spaces and joiners, soft hyphens). Dropped before
# matching, from the phrases and the text alike.
INVISIBLE_CATEGORIES = {"Mn", "Me", "Cf"}


def normalise(text: str) -> str:
    """The form both the block list and the text are compared in: compatibility forms folded (NFKC:
    fullwidth and styled letters become plain ones), invisible characters dropped, case folded."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    visible = "".join(ch for ch in decomposed if unicodedata.category(ch) not in INVISIBLE_CATEGORIES)
    return unicodedata.normalize("NFKC", visible).casefold()


@dataclass(frozen=True)
class ModerationResult:
    """The strictest action among the categories found (None: nothing found), the categories, and the
    block-list phrases that matched (normalised; the endpoint reports categories only)."""

    action: Action | None
    categories: tuple[str, ...]
    matched: tuple[str, ...]


def parse_entries(lines: Iterable[str], *, source: str) -> dict[str, list[str]]:
    """Category -> phrases from "category: phrase" lines; blank lines and # comments are skipped."""
    phrases: dict[str, list[str]] = {}
    for number, line in enumerate(lines, start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        category, colon, phrase = entry.partition(":")
        category, phrase = category.strip().casefold(), phrase.strip()
        if not colon or not category or not phrase:
            raise ValueError(
                f"{source}, entry {number}: {entry!r} is not 'category: phrase' (e.g. 'spam: buy now')"
            )
        phrases.setdefault(category, []).append(phrase)
    return phrases


def read_entries(path: Path) -> dict[str, list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read the arena block list {path}: {exc.strerror}") from exc
    return parse_entries(text.splitlines(), source=str(path))


class BlockList:
    """Phrases per category, each matched case-insensitively as whole words."""

    def __init__(self, phrases: Mapping[str, Iterable[str]] | None = None) -> None:
        self.patterns = {
            category.casefold(): _word_pattern(list(found))
            for category, found in (phrases or {}).items()
            if found
        }

    @classmethod
    def parse(cls, lines: Iterable[str], *, source: str = "the block list") -> "BlockList":
        return cls(parse_entries(lines, source=source))

    def scan(self, text: str) -> dict[str, list[str]]:
        """Category -> the phrases found in `text` (normalised), for the categories with at least one."""
        folded = normalise(text)
        found = {
            category: sorted({" ".join(m.group(0).split()) for m in p.finditer(folded)})
            for category, p in self.patterns.items()
        }
        return {category: phrases for category, phrases in found.items() if phrases}


def _word_pattern(phrases: list[str]) -> re.Pattern[str]:
    # Look-arounds instead of \b: \b needs a word character at the phrase's edge, and phrases may start or
    # end with punctuation. Longest first, so that "buy now" wins over "buy" at the same place.
    alternatives = sorted({normalise(p) for p in phrases}, key=len, reverse=True)
    body = "|".join(r"\s+".join(re.escape(word) for word in p.split()) for p in alternatives)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


class ModerationEndpoint:
    """An OpenAI-compatible moderation API: POST {base_url}/moderations, flagged categories back."""

    def __init__(
        self, base_url: str, *, model: str = "", api_key_env: str = "", timeout_s: float = 5.0
    ) -> None:
        self.url = base_url.rstrip("/") + "/moderations"
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout_s))
            return self._client

    def _headers(self) -> dict[str, str]:
        if not self.api_key_env:
            return {}
        # Read on every call, so that a rotated key is picked up without a restart.
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ValueError(
                f"the environment variable {self.api_key_env} (the moderation API key) is not set"
            )
        return {"Authorization": f"Bearer {key}"}

    def categories(self, text: str) -> list[str]:
        """The categories the endpoint flags in `text`. Raises httpx.HTTPError or ValueError (with what is
        wrong) when the endpoint does not answer or answers something else than a moderation result."""
        body: dict[str, Any] = {"input": text}
        if self.model:
            body["model"] = self.model
        response = self._http().post(self.url, json=body, headers=self._headers())
        response.raise_for_status()
        return _flagged_categories(response.json(), self.url)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _flagged_categories(payload: Any, url: str) -> list[str]:
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or not results:
        raise ValueError(f"{url} answered without a 'results' list")
    flagged: set[str] = set()
    for result in results:
        categories = result.get("categories") if isinstance(result, dict) else None
        if not isinstance(categories, dict):
            raise ValueError(f"{url} answered a result without a 'categories' map")
        flagged.update(str(name).casefold() for name, hit in categories.items() if hit is True)
    return sorted(flagged)


class Moderator:
    """Finds categories in a text (block list, plus the endpoint if any) and decides the action."""

    def __init__(
        self,
        *,
        blocklist: BlockList | None = None,
        endpoint: ModerationEndpoint | None = None,
        actions: Mapping[str, Action] | None = None,
        default_action: Action = "block",
    ) -> None:
        self.blocklist = blocklist or BlockList()
        self.endpoint = endpoint
        self.actions = {category.casefold(): action for category, action in (actions or {}).items()}
        self.default_action = default_action

    @classmethod
    def from_settings(cls, settings: Settings) -> "Moderator":
        phrases = parse_entries(settings.arena_blocklist, source="PREFLAB_ARENA_BLOCKLIST")
        if settings.arena_blocklist_path is not None:
            for category, found in read_entries(settings.arena_blocklist_path).items():
                phrases.setdefault(category, []).extend(found)
        endpoint = None
        if settings.arena_moderation_url:
            endpoint = ModerationEndpoint(
                settings.arena_moderation_url,
                model=settings.arena_moderation_model,
                api_key_env=settings.arena_moderation_api_key_env,
                timeout_s=settings.arena_moderation_timeout_s,
            )
        return cls(
            blocklist=BlockList(phrases),
            endpoint=endpoint,
            actions=settings.arena_moderation_actions,
            default_action=settings.arena_moderation_default_action,
        )

    def action_for(self, category: str, overrides: Mapping[str, Action] | None = None) -> Action:
        """The campaign's action for the category, else the server's, else the default; a parent category
        ("self-harm") covers its children ("self-harm/intent") unless they have their own."""
        folded = category.casefold()
        lookups = [folded]
        if "/" in folded:
            lookups.append(folded.split("/", 1)[0])
        campaign = {key.casefold(): value for key, value in (overrides or {}).items()}
        for name in lookups:
            for table in (campaign, self.actions):
                if name in table:
                    return table[name]
        return self.default_action

    def check(self, text: str, *, overrides: Mapping[str, Action] | None = None) -> ModerationResult:
        """The categories found in `text` and the strictest of their actions. `overrides` are the
        campaign's category -> action settings, over the server's."""
        found = self.blocklist.scan(text)
        categories = set(found)
        if self.endpoint is not None:
            try:
                categories.update(self.endpoint.categories(text))
            except (httpx.HTTPError, ValueError) as exc:
                log.warning(
                    "moderation endpoint %s failed (%s: %s); the block list alone decided",
                    self.endpoint.url,
                    type(exc).__name__,
                    exc,
                )
        if not categories:
            return ModerationResult(action=None, categories=(), matched=())
        action = max((self.action_for(c, overrides) for c in categories), key=SEVERITY.__getitem__)
        matched = tuple(sorted({phrase for phrases in found.values() for phrase in phrases}))
        return ModerationResult(action=action, categories=tuple(sorted(categories)), matched=matched)


_cached: tuple[Settings, Moderator] | None = None
_cache_lock = threading.Lock()


def get_moderator() -> Moderator:
    """The moderator for the current settings; a new one when the settings object changes (tests)."""
    global _cached
    settings = get_settings()
    with _cache_lock:
        if _cached is None or _cached[0] is not settings:
            _cached = (settings, Moderator.from_settings(settings))
        return _cached[1]
