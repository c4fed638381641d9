"""Engine, session factory and the declarative base shared by every domain's models."""

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset on the way back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling starts transactions lazily and deferred, so two writers can
    # both read a free slot and then collide; we take the write lock at BEGIN instead (BEGIN IMMEDIATE),
    # which serialises writers the way row locks do on Postgres.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None
_statement_engine: Engine | None = None
# Request threads ask for the engine at the same time on a cold start; one pool per process, not one each.
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                settings = get_settings()
                if settings.is_sqlite:
                    settings.data_dir.mkdir(parents=True, exist_ok=True)
                _engine = make_engine(
                    settings.database_url,
                    pool_size=settings.db_pool_size,
                    max_overflow=settings.db_max_overflow,
                )
    return _engine


def get_sessionmaker() -> sessionmaker[Session]:
    global _sessionmaker
    if _sessionmaker is None:
        engine = get_engine()
        with _engine_lock:
            if _sessionmaker is None:
                _sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
    return _sessionmaker


def reset_engine() -> None:
    """Closes the pool and forgets the engine, so the next use reads the settings again (tests)."""
    global _engine, _sessionmaker, _statement_engine
    with _engine_lock:
        for engine in (_engine, _statement_engine):
            if engine is not None:
                engine.dispose()
        _engine, _sessionmaker, _statement_engine = None, None, None


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction outside a request (CLI, tasks): commit on success, roll back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_statement_engine() -> Engine:
    """A second pool (Postgres) for lone statements in autocommit mode, used by the voting fast path.

    One statement is one transaction there, so a request costs one round trip: no BEGIN, no COMMIT
    and no pre-ping. `fetch_one` handles a connection the server dropped instead.
    """
    global _statement_engine
    if _statement_engine is None:
        with _engine_lock:
            if _statement_engine is None:
                settings = get_settings()
                _statement_engine = create_engine(
                    settings.database_url,
                    pool_size=settings.db_statement_pool_size,
                    max_overflow=0,
                    isolation_level="AUTOCOMMIT",
                    pool_reset_on_return=None,
                )
    return _statement_engine


def fetch_one(statement: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Runs one statement as its own transaction and returns its first row.

    Only for statements that are safe to run twice: when the connection turns out to be dead (the
    database restarted), the statement is sent once more on a fresh connection, since the first may
    or may not have committed. Driver errors come out as SQLAlchemy's, for the app's handlers.
    """
    engine = get_statement_engine()
    dbapi_error = engine.dialect.loaded_dbapi.Error
    for attempt in (1, 2):
        connection = engine.raw_connection()
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchone()
        except dbapi_error as exc:
            disconnected = engine.dialect.is_disconnect(exc, connection.dbapi_connection, None)
            if disconnected:
                connection.invalidate(exc)
                engine.pool.dispose()  # the other pooled connections died with it
                if attempt == 1:
                    continue
            raise DBAPIError.instance(
                statement,
                params,
                exc,
                dbapi_error,
                connection_invalidated=disconnected,
                dialect=engine.dialect,
            ) from exc
        finally:
            connection.close()
    raise AssertionError("unreachable")
