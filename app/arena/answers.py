"""Generating one side of a battle: the same code runs on a web-process thread (HTTP providers, replay)
or in a Celery worker (local models), and writes the answer into its `battle_answer` row as it streams.
The battle page reads the row back (`stream.py`), so it does not matter which process generates.

Pieces are written at most every FLUSH_S in short transactions; each write also learns whether the
battle was given up (the other side failed, a timeout), in which case generation stops.
"""

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select, update

from app.arena.models import AnswerStatus, Arena, ArenaSystem, Battle, BattleAnswer, BattleStatus
from app.arena.schemas import ArenaConfig
from app.arena.service import settle
from app.arena.style import style_features
from app.config import get_settings
from app.db import session_scope, utcnow
from app.errors import DomainError
from app.generation.base import (
    Generation,
    GenerationError,
    Message,
    Provider,
    ProviderConfig,
    StreamingProvider,
)
from app.generation.registry import make_provider, parse_provider_config
from app.media import service as media_service

log = logging.getLogger("preflab.arena")
FLUSH_S = 0.15
ANSWER_TASK = "preflab.arena.answer"
# Providers that only wait on the network run on web threads; the rest need a worker.
WEB_KINDS = {"openai", "replay"}

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_providers: "OrderedDict[str, Provider]" = OrderedDict()
_providers_lock = threading.Lock()
PROVIDER_CACHE_SIZE = 8


def runs_on_web(provider: dict[str, Any]) -> bool:
    return provider.get("kind") in WEB_KINDS


def answer_queue(provider: dict[str, Any]) -> str:
    return "gpu" if provider.get("kind") == "transformers" and provider.get("device") == "cuda" else "cpu"


def launch(answer_ids: list[int], providers: list[dict[str, Any]]) -> None:
    """Starts generating each answer where its provider runs. Call after the commit that stored them."""
    settings = get_settings()
    for answer_id, provider in zip(answer_ids, providers, strict=True):
        if runs_on_web(provider) or not settings.redis_url:
            _web_executor().submit(_run_safely, answer_id)
        else:
            from workers.celery_app import celery_for

            celery_for(settings).send_task(ANSWER_TASK, args=[answer_id], queue=answer_queue(provider))


def _web_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="preflab-arena")
        return _executor


def _run_safely(answer_id: int) -> None:
    try:
        generate_answer(answer_id)
    except Exception:  # the answer row records the failure; this only keeps the pool thread alive
        log.exception("arena answer %s crashed", answer_id)


def provider_for(config: dict[str, Any]) -> Provider:
    """A provider per distinct config, kept: a local model is loaded once per process, not per battle.
    Files a provider writes (a `command` system's audio or image) go beside the media store."""
    output_dir = media_service.scratch_dir(get_settings())
    key = json.dumps([config, str(output_dir)], sort_keys=True)
    with _providers_lock:
        provider = _providers.get(key)
        if provider is not None:
            _providers.move_to_end(key)
            return provider
    parsed: ProviderConfig = parse_provider_config(config)
    provider = make_provider(parsed, output_dir=output_dir)
    with _providers_lock:
        _providers[key] = provider
        while len(_providers) > PROVIDER_CACHE_SIZE:
            _providers.popitem(last=False)
    return provider


def _conversation(answers: list[BattleAnswer], side: str, turn: int) -> list[Message]:
    messages: list[Message] = []
    for answer in sorted((a for a in answers if a.side == side and a.turn <= turn), key=lambda a: a.turn):
        messages.append(Message(role="user", content=answer.prompt))
        if answer.turn < turn:
            messages.append(Message(role="assistant", content=answer.content))
    return messages


def generate_answer(answer_id: int) -> None:
    """Generates one answer; safe to run twice (only the run that claims the pending row generates)."""
    with session_scope() as session:
        claimed = session.execute(
            update(BattleAnswer)
            .where(BattleAnswer.id == answer_id, BattleAnswer.status == AnswerStatus.pending)
            .values(status=AnswerStatus.streaming, started_at=utcnow(), updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            return
        answer = session.get(BattleAnswer, answer_id)
        assert answer is not None
        battle = session.get(Battle, answer.battle_id)
        assert battle is not None
        system = session.get(ArenaSystem, battle.system_a_id if answer.side == "a" else battle.system_b_id)
        assert system is not None
        arena = session.scalar(select(Arena).where(Arena.campaign_id == battle.campaign_id))
        config = ArenaConfig.model_validate(arena.config if arena else {})
        siblings = list(session.scalars(select(BattleAnswer).where(BattleAnswer.battle_id == battle.id)))
        messages = _conversation(siblings, answer.side, answer.turn)
        provider_config = dict(system.provider)
        battle_id = battle.id
    params = config.params.model_copy(update={"n": 1})
    try:
        provider = provider_for(provider_config)
        generation = _stream_into(answer_id, battle_id, provider, messages, params)
    except GenerationError as exc:
        _finish(answer_id, battle_id, error=str(exc), timeout_s=config.answer_timeout_s)
        return
    except Exception as exc:  # a provider bug must still end the battle cleanly, with a message
        log.exception("arena answer %s failed", answer_id)
        _finish(
            answer_id,
            battle_id,
            error=f"the model failed: {type(exc).__name__}",
            timeout_s=config.answer_timeout_s,
        )
        return
    if generation is None:
        return  # the battle was given up while streaming; its status already says why
    _finish(answer_id, battle_id, generation=generation, timeout_s=config.answer_timeout_s)


def _pieces(provider: Provider, messages: list[Message], params: Any) -> tuple[Iterator[str], Any]:
    if isinstance(provider, StreamingProvider):
        stream = provider.stream(messages, params)
        return stream, stream
    generations = provider.generate(messages, params)
    if not generations:
        raise GenerationError("the model returned no answer")
    return iter([generations[0].content or ""]), generations[0]


def _stream_into(
    answer_id: int, battle_id: int, provider: Provider, messages: list[Message], params: Any
) -> Generation | None:
    pieces, handle = _pieces(provider, messages, params)
    text: list[str] = []
    last_flush = time.monotonic()
    try:
        for piece in pieces:
            text.append(piece)
            if time.monotonic() - last_flush >= FLUSH_S:
                last_flush = time.monotonic()
                if not _flush(answer_id, battle_id, "".join(text)):
                    return None
    finally:
        close = getattr(handle, "close", None)
        if close is not None and isinstance(handle, Iterator):
            close()
    if isinstance(handle, Generation):
        return handle
    generation = getattr(handle, "generation", None)
    if generation is None:
        raise GenerationError("the answer stream ended without a result")
    return generation


def _flush(answer_id: int, battle_id: int, text: str) -> bool:
    """Writes the text so far; False when the battle no longer wants this answer."""
    with session_scope() as session:
        status = session.scalar(select(Battle.status).where(Battle.id == battle_id))
        if status != BattleStatus.generating:
            return False
        session.execute(
            update(BattleAnswer)
            .where(BattleAnswer.id == answer_id, BattleAnswer.status == AnswerStatus.streaming)
            .values(content=text, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return True


def _finish(
    answer_id: int,
    battle_id: int,
    *,
    timeout_s: float,
    generation: Generation | None = None,
    error: str | None = None,
) -> None:
    written = generation.media_path if generation is not None else None
    try:
        with session_scope() as session:
            answer = session.get(BattleAnswer, answer_id)
            battle = session.get(Battle, battle_id)
            if answer is None or battle is None or answer.status != AnswerStatus.streaming:
                return
            media = None
            if written is not None:
                try:
                    media = media_service.store_path(session, path=written, settings=get_settings())
                except DomainError as exc:
                    generation, error = None, f"the model's file was refused: {exc.message}"
            if generation is not None:
                answer.content = generation.content or ""
                answer.status = AnswerStatus.done
                meta = generation.metadata()
                meta["style"] = style_features(answer.content, meta, media=media.meta if media else None)
                answer.meta = meta
                answer.media_id = media.id if media else None
            else:
                answer.status = AnswerStatus.failed
                answer.error = error or "the model failed"
            answer.updated_at = utcnow()
            session.flush()
            settle(session, battle=battle, timeout_s=timeout_s)
    finally:
        if written is not None:
            media_service.discard(written)
