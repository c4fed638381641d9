import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.arena.moderation import BlockList, ModerationEndpoint, Moderator, normalise, read_entries
from app.config import Settings

ENTRIES = [
    "# spam and worse",
    "spam: buy now",
    "spam: free money",
    "hate: slurword",
    "",
    "violence: kill",
]


def moderator(**kw: Any) -> Moderator:
    return Moderator(blocklist=BlockList.parse(ENTRIES), **kw)


def test_block_list_hits_whole_words_in_any_case() -> None:
    result = moderator().check("Please BUY   NOW and get Free Money!")
    assert result.action == "block"
    assert result.categories == ("spam",) and result.matched == ("buy now", "free money")


def test_block_list_misses_words_inside_other_words_and_clean_text() -> None:
    assert moderator().check("the skill of killing time: buying nowhere").action is None
    clean = moderator().check("Write a haiku about autumn.")
    assert clean.action is None and clean.categories == () and clean.matched == ()


def test_trivial_obfuscations_are_caught() -> None:
    assert normalise("\uff22\uff35\uff39 \uff2e\uff2f\uff37") == "buy now"  # fullwidth
    assert moderator().check("\uff22\uff35\uff39 \uff2e\uff2f\uff37").categories == ("spam",)
    assert moderator().check("\U0001d424\U0001d422\U0001d425\U0001d425 it").categories == (
        "violence",
    )  # mathematical bold
    assert moderator().check("k\u200bi\u200dll").categories == ("violence",)  # zero-width characters
    assert moderator().check("k\u0336i\u0336l\u0336l\u0336").categories == ("violence",)  # combining strokes
    assert moderator().check("K\u0130LL").categories == ("violence",)  # dotted capital I
    assert moderator().check("buy\u00a0now").categories == ("spam",)  # no-break space


def test_each_category_has_its_action_and_the_strictest_wins() -> None:
    actions = {"spam": "log", "violence": "warn"}
    assert moderator(actions=actions).check("buy now").action == "log"
    assert moderator(actions=actions).check("kill").action == "warn"
    assert moderator(actions=actions).check("buy now or I kill").action == "warn"
    both = moderator(actions=actions).check("slurword, buy now")
    assert both.action == "block" and both.categories == ("hate", "spam")  # hate: the default action
    assert moderator(actions=actions, default_action="log").check("slurword").action == "log"


def test_campaign_overrides_win_over_the_server_and_parents_cover_children() -> None:
    mod = moderator(actions={"spam": "log", "self-harm": "warn"})
    assert mod.check("buy now", overrides={"spam": "block"}).action == "block"
    assert mod.action_for("self-harm/intent") == "warn"
    assert mod.action_for("self-harm/intent", {"self-harm/intent": "block"}) == "block"
    assert mod.action_for("SELF-HARM/instructions", {"Self-Harm": "log"}) == "log"


def test_a_malformed_block_list_says_which_entry(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"the block list, entry 2: 'just a phrase' is not 'category: phrase'"
    ):
        BlockList.parse(["spam: ok", "just a phrase"])
    with pytest.raises(ValueError, match="cannot read the arena block list"):
        read_entries(tmp_path / "missing.txt")


def test_settings_merge_the_inline_list_and_the_file(tmp_path: Path) -> None:
    listing = tmp_path / "blocklist.txt"
    listing.write_text("# ours\nspam: cheap pills\nViolence: stab\n", encoding="utf-8")
    mod = Moderator.from_settings(
        Settings(
            arena_blocklist=["spam: buy now"],
            arena_blocklist_path=listing,
            arena_moderation_actions={"violence": "warn"},
        )
    )
    assert mod.check("cheap pills, buy now").categories == ("spam",)
    assert mod.check("stab").action == "warn"
    assert mod.endpoint is None
    assert Moderator.from_settings(Settings()).check("anything at all").action is None


class ModerationAPI(BaseHTTPRequestHandler):
    """A stand-in for an OpenAI-compatible /v1/moderations: flags words it sees, fails on request."""

    seen: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})  # type: ignore[attr-defined]
        text = body["input"]
        if self.path != "/v1/moderations":
            return self._answer(404, {"error": "not found"})
        if "explode" in text:
            return self._answer(500, {"error": "internal"})
        if "slowly" in text:
            time.sleep(1.0)
        if "nonsense" in text:
            return self._answer(200, {"id": "x", "model": "m"})
        categories = {
            "harassment": "insult" in text,
            "self-harm/intent": "hurt myself" in text,
            "violence": False,
        }
        self._answer(
            200,
            {
                "id": "modr-1",
                "model": "m",
                "results": [{"flagged": any(categories.values()), "categories": categories}],
            },
        )

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client gave up waiting (the timeout test)
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def moderation_api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ModerationAPI)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", server.seen  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_endpoint_categories_take_their_actions(
    moderation_api: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, seen = moderation_api
    monkeypatch.setenv("TEST_MODERATION_KEY", "sk-test")
    endpoint = ModerationEndpoint(base_url + "/", model="omni-test", api_key_env="TEST_MODERATION_KEY")
    mod = moderator(endpoint=endpoint, actions={"harassment": "warn", "self-harm": "block"})
    assert mod.check("you insult me").action == "warn"
    result = mod.check("I want to hurt myself, buy now")
    assert result.action == "block"
    assert result.categories == ("self-harm/intent", "spam") and result.matched == ("buy now",)
    assert mod.check("a kind question").action is None
    assert seen[0] == {
        "path": "/v1/moderations",
        "body": {"input": "you insult me", "model": "omni-test"},
        "auth": "Bearer sk-test",
    }
    endpoint.close()


@pytest.mark.parametrize("text", ["explode, then kill", "nonsense, then kill", "slowly, then kill"])
def test_a_failing_endpoint_falls_back_to_the_block_list(
    text: str, moderation_api: tuple[str, list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = ModerationEndpoint(moderation_api[0], timeout_s=0.3)
    caplog.set_level(logging.WARNING, logger="preflab.arena")
    result = moderator(endpoint=endpoint, actions={"violence": "warn"}).check(text)
    assert result.action == "warn" and result.categories == ("violence",)
    assert "the block list alone decided" in caplog.text
    endpoint.close()


def test_an_unreachable_endpoint_or_a_missing_key_falls_back_too(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import free_port

    caplog.set_level(logging.WARNING, logger="preflab.arena")
    gone = ModerationEndpoint(f"http://127.0.0.1:{free_port()}/v1", timeout_s=0.5)
    assert moderator(endpoint=gone).check("kill").categories == ("violence",)
    monkeypatch.delenv("NO_SUCH_MODERATION_KEY", raising=False)
    keyless = ModerationEndpoint("http://127.0.0.1:9/v1", api_key_env="NO_SUCH_MODERATION_KEY")
    assert moderator(endpoint=keyless).check("clean").action is None
    assert (
        "the environment variable NO_SUCH_MODERATION_KEY (the moderation API key) is not set" in caplog.text
    )
