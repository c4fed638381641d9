"""Real Celery workers on real Redis, against the test's database."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import preflab_bin


@contextmanager
def running(argv: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process for the length of the block; its output goes to log_path."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@contextmanager
def preflab_worker(env: dict[str, str], log_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`preflab worker ...`, the command the README gives for worker hosts."""
    with running([preflab_bin(), "worker", *args], env, log_path) as proc:
        yield proc


@pytest.fixture
def worker(cli_env: dict[str, str], redis_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """One solo-pool worker on the default and cpu queues; yields its environment."""
    env = {**cli_env, "PREFLAB_REDIS_URL": redis_url}
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "--queues",
        "default,cpu",
        "--concurrency",
        "1",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--hostname",
        f"test-{os.getpid()}@%h",
    ]
    with running(argv, env, tmp_path / "worker.log"):
        yield env
