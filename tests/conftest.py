"""Test fixtures. The backend comes from PREFLAB_TEST_DB (sqlite, the default, or postgres).

Every test that touches the database gets a fresh, fully migrated database of that backend: on
Postgres a copy of a migrated template database (CREATE DATABASE ... TEMPLATE), on SQLite a copy of a
migrated file. Tests therefore see real commits, real row locks and real concurrency.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import config, db
from tests.support.openai_server import OpenAIServer, serve_openai
from tests.support.tiny_lm import build_tiny_lm
from tests.support.workers import running, solo_worker_argv

BACKEND = os.environ.get("PREFLAB_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("PREFLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PREFLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"

if BACKEND not in ("sqlite", "postgres"):
    raise SystemExit(f"PREFLAB_TEST_DB must be sqlite or postgres, not {BACKEND!r}")


def pytest_report_header(config: pytest.Config) -> str:
    return f"preflab test database backend: {BACKEND}"


def _pg_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that every test's database is copied from."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        migrate(url)
        yield str(path)
        return
    name = "preflab_tmpl_" + uuid.uuid4().hex[:8]
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.exit(f"PREFLAB_TEST_DB=postgres but Postgres is unreachable at {PG_ADMIN_URL}: {exc}", 2)
    migrate(_pg_url(name))
    yield name
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database for this test, dropped afterwards."""
    if BACKEND == "sqlite":
        path = tmp_path / "preflab.db"
        shutil.copy(template_database, path)
        yield f"sqlite:///{path}"
        return
    name = "preflab_t_" + uuid.uuid4().hex[:10]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield _pg_url(name)
    db.reset_engine()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_caches() -> None:
    db.reset_engine()
    config.get_settings.cache_clear()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[config.Settings]:
    """Points Preflab's settings at this test's database and data dir."""
    monkeypatch.setenv("PREFLAB_DATABASE_URL", database_url)
    monkeypatch.setenv("PREFLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PREFLAB_REDIS_URL", raising=False)
    _reset_caches()
    yield config.get_settings()
    _reset_caches()


@pytest.fixture
def session(settings: config.Settings) -> Iterator[Session]:
    """A session on this test's database; tests commit through it like the app does."""
    s = db.get_sessionmaker()()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def client(settings: config.Settings) -> Iterator[TestClient]:
    from app.main import create_app

    with TestClient(create_app(settings)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def preflab_bin() -> str:
    return str(Path(sys.executable).parent / "preflab")


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running the real `preflab` command against this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFLAB_")}
    env.update(
        PREFLAB_DATABASE_URL=database_url, PREFLAB_DATA_DIR=str(tmp_path / "data"), PREFLAB_PASSWORD=PASSWORD
    )
    return env


def run_cli(
    env: dict[str, str], *args: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [preflab_bin(), *args], env=env, capture_output=True, text=True, timeout=300, input=stdin
    )
    if check and result.returncode != 0:
        raise AssertionError(f"preflab {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


@contextmanager
def serving(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`preflab serve` in a subprocess on a free loopback port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [preflab_bin(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(argv, env, log_path) as proc:
        for _ in range(200):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start in 20 s")
        yield base


@pytest.fixture
def live_server(cli_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """The server with jobs run in its own process (no Redis): the embedded default."""
    with serving(cli_env, tmp_path / "serve.log") as base:
        yield base


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: worker tests skipped")
    return REDIS_URL


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


@pytest.fixture
def worker(cli_env: dict[str, str], redis_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A real Celery worker (default and cpu queues) on real Redis; yields its environment."""
    env = {**cli_env, "PREFLAB_REDIS_URL": redis_url}
    with running(solo_worker_argv(), env, tmp_path / "worker.log"):
        yield env
